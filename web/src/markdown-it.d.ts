// The slice of markdown-it 14 that web/src/markdown.ts uses (the package ships no types).
declare module 'markdown-it' {
  interface Token {
    attrSet(name: string, value: string): void;
  }
  type RenderRule = (tokens: Token[], idx: number, options: unknown, env: unknown, self: Renderer) => string;
  interface Renderer {
    rules: Record<string, RenderRule | undefined>;
    renderToken(tokens: Token[], idx: number, options: unknown): string;
  }
  export default class MarkdownIt {
    constructor(options?: { html?: boolean; linkify?: boolean; typographer?: boolean; breaks?: boolean });
    renderer: Renderer;
    validateLink: (url: string) => boolean;
    disable(rule: string | string[]): this;
    render(source: string): string;
  }
}
