import Type, { type Static } from 'typebox';
import { Id, IsoTime } from './common.js';

/** The server's VAPID public key (RFC 8292): browsers pass it as `applicationServerKey` when subscribing. */
export const VapidPublicKey = Type.Object({
  /** Uncompressed P-256 point, base64url without padding. */
  publicKey: Type.String(),
});
export type VapidPublicKey = Static<typeof VapidPublicKey>;

/** base64url, as `PushSubscription.toJSON()` gives the keys (padding tolerated). */
const Base64Url = (minLength: number, maxLength: number) => Type.String({ minLength, maxLength, pattern: '^[A-Za-z0-9_-]+={0,2}$' });

/**
 * Body of `POST /push/subscriptions`: what the browser's `PushSubscription.toJSON()` holds, plus
 * whether notifications on this device may show message text. Subscribing an endpoint again
 * updates it (keys, previews) and moves it to the calling session.
 */
export const PushSubscriptionBody = Type.Object(
  {
    /** The push service URL (https; checked against the outbound address rules). */
    endpoint: Type.String({ minLength: 8, maxLength: 2048 }),
    keys: Type.Object(
      {
        /** The browser's P-256 ECDH public key (65 bytes). */
        p256dh: Base64Url(80, 100),
        /** The 16-byte authentication secret. */
        auth: Base64Url(16, 32),
      },
      { additionalProperties: false },
    ),
    /** Notifications may carry the message text (default false: sender and conversation only). */
    previews: Type.Optional(Type.Boolean()),
    /** Browsers put this in toJSON(); accepted and ignored. */
    expirationTime: Type.Optional(Type.Union([Type.Number(), Type.Null()])),
  },
  { additionalProperties: false },
);
export type PushSubscriptionBody = Static<typeof PushSubscriptionBody>;

/** A device subscribed to Web Push, as its owner sees it (the keys are never sent back). */
export const PushDevice = Type.Object({
  id: Type.String(),
  endpoint: Type.String(),
  previews: Type.Boolean(),
  /** True for the subscription made by the session asking. */
  thisSession: Type.Boolean(),
  createdAt: IsoTime,
});
export type PushDevice = Static<typeof PushDevice>;
export const PushDeviceList = Type.Object({ items: Type.Array(PushDevice) });
export type PushDeviceList = Static<typeof PushDeviceList>;

export const PushSubscriptionParams = Type.Object({ id: Id }, { additionalProperties: false });

/**
 * What a push carries (encrypted for the device, RFC 8291), as the service worker reads it. `text`
 * only when the subscription allows previews and the message has text.
 */
export interface PushPayload {
  type: 'message' | 'call';
  conversationId: string;
  messageId?: string;
  senderName: string;
  text?: string;
  /** On calls: audio or video. */
  media?: 'audio' | 'video';
}
