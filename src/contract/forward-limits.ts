/**
 * Most messages one forward copies, and most conversations it copies them to. Kept apart from the TypeBox schemas in pins.ts so the web client
 * can import the numbers without pulling TypeBox into its first-load bundle.
 */
export const MAX_FORWARD_MESSAGES = 20;
export const MAX_FORWARD_CONVERSATIONS = 10;
