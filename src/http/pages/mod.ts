/** HTML pages shown in the browser during sign-in. */
export { escapeHtml } from "./escape.ts";
export {
  confirmPage,
  type ConfirmPageInput,
  deniedPage,
  type DeniedPageInput,
  errorPage,
  type ErrorPageInput,
  expiredPage,
  successPage,
  type SuccessPageInput,
} from "./builtin.ts";
export {
  builtinPages,
  loadTemplates,
  type Pages,
  readTemplateFile,
  TemplateError,
  type TemplateReader,
} from "./templates.ts";
export { PAGE_STYLE_SOURCE, styleHashSource } from "./style.ts";
