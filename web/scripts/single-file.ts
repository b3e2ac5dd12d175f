/**
 * Vite plugin that folds the built page into one `index.html`: the entry script and the stylesheet
 * are written inline (the worker is already inlined by `?worker&inline`). Opened from file://, a page
 * with external module scripts shows nothing (browsers refuse module scripts from file:// origins);
 * the single file works there and from any static host.
 */
import type { Plugin, Rollup } from 'vite';

/** Text that cannot end the inline element early. */
function safeInScript(code: string): string {
  return code.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

export function singleFile(): Plugin {
  return {
    name: 'faceverloss-single-file',
    enforce: 'post',
    generateBundle(_options, bundle) {
      const html = Object.values(bundle).find(
        (f): f is Rollup.OutputAsset => f.type === 'asset' && f.fileName.endsWith('.html'),
      );
      if (!html) return;
      let text = String(html.source);
      for (const file of Object.values(bundle)) {
        const ref = new RegExp(
          `<script[^>]*src="\\.?/?${file.fileName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"[^>]*></script>`,
        );
        const link = new RegExp(
          `<link[^>]*href="\\.?/?${file.fileName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"[^>]*>`,
        );
        if (file.type === 'chunk' && ref.test(text)) {
          const code = safeInScript((file as Rollup.OutputChunk).code);
          text = text.replace(ref, () => `<script type="module">${code}</script>`);
          delete bundle[file.fileName];
        } else if (file.type === 'asset' && file.fileName.endsWith('.css') && link.test(text)) {
          const css = String(file.source).replace(/<\/(style)/gi, '<\\/$1');
          text = text.replace(link, () => `<style>${css}</style>`);
          delete bundle[file.fileName];
        }
      }
      html.source = text;
    },
  };
}
