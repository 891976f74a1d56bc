import { DomainError } from '@idlemint/core';

export const WorkErrors = {
  assignmentNotFound: () => new DomainError('WORK.ASSIGNMENT_NOT_FOUND', 'not_found', 'no such assignment'),
  notYours: () => new DomainError('WORK.NOT_YOUR_ASSIGNMENT', 'conflict', 'assignment belongs to another device'),
  alreadyAnswered: () => new DomainError('WORK.ALREADY_ANSWERED', 'conflict', 'assignment was already answered differently'),
  deadlinePassed: () => new DomainError('WORK.DEADLINE_PASSED', 'conflict', 'assignment deadline has passed'),
  verdictsInvalid: (expected: number) =>
    new DomainError('WORK.VERDICTS_INVALID', 'unprocessable', `verdicts must be ${expected} characters of 0 and 1`, { expected }),
  resultSignatureInvalid: () =>
    new DomainError('WORK.RESULT_SIGNATURE_INVALID', 'unprocessable', 'resultSignature does not verify with the device key'),
};
