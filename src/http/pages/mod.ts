/** HTML pages shown in the browser during sign-in. */
export { escapeHtml } from "./escape.ts";
export {
  confirmPage,
  deniedPage,
  errorPage,
  expiredPage,
  finishedPage,
  proceedPage,
  successPage,
} from "./builtin.ts";
export {
  builtinLocalizedPages,
  builtinPages,
  confirmFormProblem,
  loadTemplates,
  type LocalizedPages,
  type Pages,
  TemplateError,
  type TemplateReader,
} from "./templates.ts";
export { PAGE_STYLE_SOURCE } from "./style.ts";
export { type ErrorKind, PAGE_TEXT, type PageText } from "./messages.ts";
export { pickLanguage } from "./negotiate.ts";
