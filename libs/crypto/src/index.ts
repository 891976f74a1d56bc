export { SCHEMES, type Scheme, type TxItem } from './types.js';
export { isHex, sha256Hex, hexToBytes, bytesToHex } from './hex.js';
export {
  verifyEd25519,
  ed25519Generate,
  ed25519FromSeed,
  ed25519Sign,
  ed25519VerifyHex,
  ed25519VerifyHexAsync,
  type Ed25519KeyPair,
} from './ed25519.js';
export { verifyBip340 } from './bip340.js';
export { verifyEcdsaSecp256k1 } from './ecdsa.js';
export { verifyItem, makeItem, SenderPool } from './items.js';
export * from './pow.js';
