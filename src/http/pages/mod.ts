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
  finishedPage,
  proceedPage,
  type ProceedPageInput,
  successPage,
  type SuccessPageInput,
} from "./builtin.ts";
export {
  builtinLocalizedPages,
  builtinPages,
  confirmFormProblem,
  loadTemplates,
  type LocalizedPages,
  type Pages,
  readTemplateFile,
  TemplateError,
  type TemplateReader,
} from "./templates.ts";
export { PAGE_STYLE_SOURCE, styleHashSource } from "./style.ts";
export { type ErrorKind, PAGE_TEXT, type PageText } from "./messages.ts";
export { pickLanguage } from "./negotiate.ts";
