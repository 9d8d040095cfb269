// The server's limits, as the page's config block carries them (chalicelib/pages.py renders
// them from the domain's constants).
import { CONFIG } from "./page-config.js";

const limits = CONFIG.limits || {};

// Written information's largest file (chalicelib.domain.document.MAX_BYTES).
export const DOCUMENT_MAX_BYTES = limits.document_max_bytes;
export const DOCUMENT_MAX_MB = Math.floor(DOCUMENT_MAX_BYTES / (1024 * 1024));

// A chat message's and a notice's longest text, in characters.
export const CHAT_MAX = limits.chat_max;
export const NOTICE_MAX = limits.notice_max;
