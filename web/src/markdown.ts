/**
 * Markdown for assistant replies, loaded on demand (`import('./markdown.js')`): markdown-it is most
 * of this chunk, and people who never open the assistant never download it.
 *
 * A reply is text from a model, which may repeat whatever a web page or a user put in its context,
 * so it is rendered as untrusted: raw HTML is escaped (`html: false`), only http, https and mailto
 * links survive (anything else stays plain text), links open in a new tab without access to this
 * one, and images are not rendered at all (a remote image would tell its host who read the reply).
 */
import MarkdownIt from 'markdown-it';

const SAFE_LINK = /^(https?:|mailto:)/i;

const md = new MarkdownIt({ html: false, linkify: true, typographer: false, breaks: true });
md.disable('image');
md.validateLink = (url: string) => SAFE_LINK.test(url.trim());

const defaultLinkOpen = md.renderer.rules.link_open ?? ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options));
md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
  const token = tokens[idx];
  if (token) {
    token.attrSet('target', '_blank');
    token.attrSet('rel', 'noopener noreferrer nofollow');
  }
  return defaultLinkOpen(tokens, idx, options, env, self);
};

// Wide tables scroll inside their own box instead of widening the page on a phone.
md.renderer.rules.table_open = () => '<div class="md-table"><table>\n';
md.renderer.rules.table_close = () => '</table></div>\n';

/** HTML for a reply's Markdown; safe to put in the page as it is. */
export function renderMarkdown(source: string): string {
  return md.render(source);
}
