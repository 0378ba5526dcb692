import Type from 'typebox';

/** Ids in paths and bodies: opaque strings, bounded so junk is refused early. */
export const Id = Type.String({ minLength: 1, maxLength: 64 });
/** Every time on the wire: ISO-8601 in UTC. */
export const IsoTime = Type.String({ format: 'date-time' });
