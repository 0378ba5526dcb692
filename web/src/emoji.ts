/** A small built-in emoji set for the picker and quick reactions. */
export const EMOJI = [
  '😀', '😂', '🥹', '😊', '😍', '😘', '😎', '🤔', '😴', '😭', '😡', '😱',
  '👍', '👎', '👏', '🙏', '💪', '👋', '🤝', '✌️', '👌', '🙌', '🎉', '🎂',
  '❤️', '💔', '🔥', '✨', '⭐', '🌹', '☕', '🍺', '🍜', '🐶', '🐱', '🚀',
  '✅', '❌', '❓', '💯',
];

export const QUICK_REACTIONS = ['👍', '❤️', '😂', '🎉', '😮', '🙏'];
