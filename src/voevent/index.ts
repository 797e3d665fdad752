/** The VOEvent part of the package: IVORNs, the model, parsing, building. */
export * from "./alert";
export * from "./build";
export * from "./cache";
export { cloneVOEvent } from "./clone";
export * from "./ivorn";
export * from "./model";
export * from "./parse";
export { paramValue, toNumber, toPlainNumber } from "./values";

// --- XPath (src/xpath/, written separately): re-export its public API here. ---
