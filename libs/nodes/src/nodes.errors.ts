import { DomainError } from '@idlemint/core';

/** Trusted node and platform key errors with stable codes. */
export const NodesErrors = {
  notFound: () => new DomainError('NODE.NOT_FOUND', 'not_found', 'trusted node not found'),
  rotationInProgress: () =>
    new DomainError('PLATFORM_KEY.ROTATION_IN_PROGRESS', 'conflict', 'another platform key rotation is running; try again when it ends'),
  announceFailed: (pendingKey: string, nodes: { node: string; error: string }[]) =>
    new DomainError(
      'PLATFORM_KEY.ANNOUNCE_FAILED',
      'unavailable',
      'the next platform key could not be announced to every active node; nothing was switched (retry the rotation, or disable the node)',
      { pendingKey, nodes },
    ),
  syncFailed: (node: string, error: string) =>
    new DomainError(
      'PLATFORM_KEY.SYNC_FAILED',
      'unavailable',
      'the node could not be brought up to date with the platform keys; it stays disabled',
      {
        node,
        error,
      },
    ),
};
