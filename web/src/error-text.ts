/**
 * Server errors as sentences a person can read, in their language. The server's messages are for
 * developers (English, with regular expressions and ISO timestamps); its stable codes and details
 * (docs/api.md, Errors) are what the client turns into text here. Pure: no DOM, no state, so a unit
 * test can check that every code of the contract has a sentence in every language.
 */
import type { ErrorCode } from '../../src/contract/errors.js';

export type ErrorLanguage = 'en' | 'zh';

/** One sentence per stable code: what happened, and what to do where there is something to do. */
const CODE_TEXT: Record<ErrorLanguage, Record<ErrorCode, string>> = {
  en: {
    VALIDATION_FAILED: 'Something you entered is not valid.',
    UNAUTHORIZED: 'You are signed out or your session has ended. Please log in again.',
    FORBIDDEN: 'You are not allowed to do that.',
    NOT_FOUND: 'This no longer exists, or you cannot see it.',
    REQUEST_TIMEOUT: 'The request took too long. Check your connection and try again.',
    CONFLICT: 'This changed in the meantime. Refresh and try again.',
    PAYLOAD_TOO_LARGE: 'That is too large to send.',
    UNSUPPORTED_MEDIA_TYPE: 'This type of file is not supported.',
    RATE_LIMITED: 'Too many attempts. Wait a moment and try again.',
    HEADERS_TOO_LARGE: 'The request was too large for the server.',
    CHECKSUM_MISMATCH: 'The upload was damaged on the way. Try again.',
    INTERNAL: 'Something went wrong on the server. Try again.',
    UNAVAILABLE: 'The server is not available right now. Try again shortly.',
    QUERY_TIMEOUT: 'That search took too long. Try more specific words.',
    AI_PROVIDER_UNAUTHORIZED: "The AI service refused this server's key. Ask the administrator.",
    AI_PROVIDER_RATE_LIMITED: 'The AI service is busy right now. Try again later.',
    AI_PROVIDER_ERROR: 'The AI service could not answer. Try again.',
    AI_BAD_RESPONSE: 'The AI service sent an answer that could not be read. Try again.',
    AI_TIMEOUT: 'The AI service took too long to answer. Try again.',
    AI_CANCELLED: 'The answer was stopped.',
    PIN_LIMIT_REACHED: 'This chat already has as many pinned messages as it can hold. Unpin one first.',
    INVITE_EXPIRED: 'This invite link has expired. Ask for a new one.',
    INVITE_USED_UP: 'This invite link has been used up. Ask for a new one.',
    ACCOUNT_SUSPENDED: 'This account has been suspended by an administrator.',
    WEBHOOK_URL_REFUSED: 'This webhook address cannot be reached from the server (not a public http(s) address).',
  },
  zh: {
    VALIDATION_FAILED: '输入的内容无效。',
    UNAUTHORIZED: '你已退出登录或会话已结束，请重新登录。',
    FORBIDDEN: '你没有权限进行此操作。',
    NOT_FOUND: '该内容已不存在，或你无权查看。',
    REQUEST_TIMEOUT: '请求超时，请检查网络后重试。',
    CONFLICT: '内容已被更改，请刷新后重试。',
    PAYLOAD_TOO_LARGE: '内容太大，无法发送。',
    UNSUPPORTED_MEDIA_TYPE: '不支持这种文件类型。',
    RATE_LIMITED: '操作过于频繁，请稍后再试。',
    HEADERS_TOO_LARGE: '请求过大，服务器无法处理。',
    CHECKSUM_MISMATCH: '上传过程中数据损坏，请重试。',
    INTERNAL: '服务器出错了，请重试。',
    UNAVAILABLE: '服务器暂时不可用，请稍后再试。',
    QUERY_TIMEOUT: '搜索耗时过长，请换用更具体的关键词。',
    AI_PROVIDER_UNAUTHORIZED: 'AI 服务拒绝了本服务器的密钥，请联系管理员。',
    AI_PROVIDER_RATE_LIMITED: 'AI 服务繁忙，请稍后再试。',
    AI_PROVIDER_ERROR: 'AI 服务未能回答，请重试。',
    AI_BAD_RESPONSE: 'AI 服务返回了无法读取的回答，请重试。',
    AI_TIMEOUT: 'AI 服务回答超时，请重试。',
    AI_CANCELLED: '回答已停止。',
    PIN_LIMIT_REACHED: '此会话的置顶消息已达上限，请先取消一条置顶。',
    INVITE_EXPIRED: '此邀请链接已过期，请索取新的链接。',
    INVITE_USED_UP: '此邀请链接的使用次数已用完，请索取新的链接。',
    ACCOUNT_SUSPENDED: '此账号已被管理员停用。',
    WEBHOOK_URL_REFUSED: '服务器无法访问此 Webhook 地址（不是公网 http(s) 地址）。',
  },
};

/** Sentences that use details: a field, a limit, a time. `{field}` is a label from FIELD_LABELS. */
const DETAIL_TEXT = {
  en: {
    usernameChars: 'A username may contain only letters, digits, _ . and - (no spaces).',
    usernameTaken: 'This username is taken. Pick another one.',
    emailTaken: 'This email address is already used by another account.',
    fieldChars: '{field} contains characters that are not allowed.',
    fieldTooShort: '{field} must be at least {n} characters.',
    fieldTooLong: '{field} must be at most {n} characters.',
    fieldRequired: '{field} is required.',
    fieldEmail: '{field} is not a valid email address.',
    fieldFormat: '{field} is not in the right format.',
    fieldInvalid: '{field} is not valid.',
    mutedUntil: 'You are muted in this group until {time}.',
    wrongCurrentPassword: 'The current password is not correct.',
    wrongCredentials: 'Wrong username or password.',
    retryIn: 'Too many attempts. Try again in {n} s.',
    offline: 'Cannot reach the server. Check your connection.',
  },
  zh: {
    usernameChars: '用户名只能包含字母、数字、_ . 和 -（不能有空格）。',
    usernameTaken: '该用户名已被占用，请换一个。',
    emailTaken: '该邮箱已被其他账号使用。',
    fieldChars: '{field}包含不允许的字符。',
    fieldTooShort: '{field}至少需要 {n} 个字符。',
    fieldTooLong: '{field}最多 {n} 个字符。',
    fieldRequired: '请填写{field}。',
    fieldEmail: '{field}不是有效的邮箱地址。',
    fieldFormat: '{field}格式不正确。',
    fieldInvalid: '{field}无效。',
    mutedUntil: '你在本群被禁言至 {time}。',
    wrongCurrentPassword: '当前密码不正确。',
    wrongCredentials: '用户名或密码错误。',
    retryIn: '操作过于频繁，请 {n} 秒后再试。',
    offline: '无法连接服务器，请检查网络。',
  },
} satisfies Record<ErrorLanguage, Record<string, string>>;

export type DetailTextKey = keyof (typeof DETAIL_TEXT)['en'];

/** What validation details call a field (their `field`, last segment), as the forms label it. */
const FIELD_LABELS: Record<ErrorLanguage, Record<string, string>> = {
  en: {
    username: 'Username',
    password: 'Password',
    newPassword: 'New password',
    currentPassword: 'Current password',
    nickname: 'Nickname',
    email: 'Email',
    bio: 'Bio',
    statusText: 'Status',
    website: 'Website',
    location: 'Location',
    birthday: 'Birthday',
    name: 'Name',
    description: 'Description',
    content: 'Message',
    q: 'Search text',
    '': 'This field',
  },
  zh: {
    username: '用户名',
    password: '密码',
    newPassword: '新密码',
    currentPassword: '当前密码',
    nickname: '昵称',
    email: '邮箱',
    bio: '个人简介',
    statusText: '状态',
    website: '网站',
    location: '所在地',
    birthday: '生日',
    name: '名称',
    description: '描述',
    content: '消息',
    q: '搜索内容',
    '': '此项',
  },
};

/** The parts of an error the sentence is made from (a ParleyError, an ack's error, an AI error event). */
export interface ErrorFacts {
  code: string;
  details?: unknown;
}

interface FieldProblem {
  field: string;
  message: string;
}

const fill = (text: string, values: Record<string, string | number>) => text.replace(/\{(\w+)\}/g, (_, name: string) => String(values[name] ?? ''));

const isKnownCode = (code: string): code is ErrorCode => Object.hasOwn(CODE_TEXT.en, code);

function problemsOf(details: unknown): FieldProblem[] {
  if (!Array.isArray(details)) return [];
  return details.filter((d): d is FieldProblem => typeof d === 'object' && d !== null && typeof d.field === 'string' && typeof d.message === 'string');
}

function retrySeconds(details: unknown): number | null {
  if (typeof details !== 'object' || details === null) return null;
  const { retryAfterSec, retryAfterMs } = details as { retryAfterSec?: unknown; retryAfterMs?: unknown };
  if (typeof retryAfterSec === 'number') return Math.max(1, Math.ceil(retryAfterSec));
  if (typeof retryAfterMs === 'number') return Math.max(1, Math.ceil(retryAfterMs / 1000));
  return null;
}

/** Field paths come dotted (`profile.bio`, `members.0.userId`): the last named segment is the label's key. */
function fieldLabel(field: string, lang: ErrorLanguage): string {
  const key =
    field
      .split('.')
      .filter((part) => !/^\d+$/.test(part))
      .at(-1) ?? '';
  return FIELD_LABELS[lang][key] ?? FIELD_LABELS[lang][''] ?? field;
}

/** One validation problem (Ajv's wording, or the server's own) as a sentence about the labelled field. */
function validationSentence(problem: FieldProblem, lang: ErrorLanguage): string {
  const text = DETAIL_TEXT[lang];
  const field = fieldLabel(problem.field, lang);
  const key = problem.field.split('.').at(-1);
  const { message } = problem;
  if (/must match pattern/.test(message)) return key === 'username' ? text.usernameChars : fill(text.fieldChars, { field });
  const short = /fewer than (\d+)/.exec(message);
  if (short) return fill(text.fieldTooShort, { field, n: short[1] ?? '' });
  const long = /more than (\d+)/.exec(message);
  if (long) return fill(text.fieldTooLong, { field, n: long[1] ?? '' });
  if (/required property/.test(message)) return fill(text.fieldRequired, { field });
  if (/format "email"/.test(message)) return fill(text.fieldEmail, { field });
  if (/must match format/.test(message)) return fill(text.fieldFormat, { field });
  return fill(text.fieldInvalid, { field });
}

/**
 * The sentence for an error, in `lang`. `formatTime` renders an ISO time in the reader's locale and
 * time zone (a mute's end). Unknown codes (a newer server) read as the generic failure of INTERNAL.
 */
export function errorSentence(error: ErrorFacts, lang: ErrorLanguage, formatTime: (iso: string) => string): string {
  const text = DETAIL_TEXT[lang];
  const problems = problemsOf(error.details);
  const about = (field: string) => problems.find((p) => p.field === field);
  switch (error.code) {
    case 'VALIDATION_FAILED': {
      const first = problems[0];
      return first ? validationSentence(first, lang) : CODE_TEXT[lang].VALIDATION_FAILED;
    }
    case 'FORBIDDEN': {
      const muted = about('mutedUntil');
      if (muted) return fill(text.mutedUntil, { time: formatTime(muted.message) });
      if (about('currentPassword')) return text.wrongCurrentPassword;
      break;
    }
    case 'CONFLICT':
      if (about('username')) return text.usernameTaken;
      if (about('email')) return text.emailTaken;
      break;
    case 'RATE_LIMITED': {
      const seconds = retrySeconds(error.details);
      if (seconds !== null) return fill(text.retryIn, { n: seconds });
      break;
    }
  }
  return CODE_TEXT[lang][isKnownCode(error.code) ? error.code : 'INTERNAL'];
}

/** A sentence of this module that is not about one code (wrong credentials at login, offline). */
export const detailSentence = (key: DetailTextKey, lang: ErrorLanguage): string => DETAIL_TEXT[lang][key];

/** For the unit test: every code's sentence per language. */
export const codeSentences = (lang: ErrorLanguage): Readonly<Record<ErrorCode, string>> => CODE_TEXT[lang];
