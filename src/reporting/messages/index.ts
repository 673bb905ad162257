export * from './types.js';
export {
  buildEvidentirajERacun,
  buildEvidentirajIsporuku,
  buildEvidentirajNaplatu,
  buildEvidentirajOdbijanje,
  MAX_RECORDS,
  requestRoot,
} from './build.js';
export { invoiceReportFromUbl, type FromUblOptions } from './from-ubl.js';
export { EFISKALIZACIJA_NS, EIZVJESTAVANJE_NS } from './xml.js';
