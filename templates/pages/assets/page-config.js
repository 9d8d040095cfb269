// The page's config block (_layout.html renders it from the server's own constants): limits and
// wording that the server owns, so that no script writes them a second time.
const block = document.getElementById("eclinic-config");

export const CONFIG = Object.freeze(JSON.parse(block ? block.textContent : "{}"));
