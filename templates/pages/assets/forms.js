// The dialogs' forms: clear their errors, and show the server's error at its field (or at the
// top of the form when it names none).
import { $ } from "./schedule-state.js";

export function clearErrors(form) {
  for (const node of form.querySelectorAll(".field-error")) node.textContent = "";
  for (const node of form.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
  const formError = form.querySelector(".form-error");
  formError.hidden = true;
}

export function showError(form, exc, fieldIds) {
  const id = exc.field && fieldIds[exc.field];
  if (id) {
    const input = $(id);
    input.setAttribute("aria-invalid", "true");
    $(`${id}-error`).textContent = exc.message;
    input.focus();
    return;
  }
  const formError = form.querySelector(".form-error");
  formError.textContent = exc.message;
  formError.hidden = false;
}

// A dialog's form as it opens: emptied, without the errors of its last use.
export function resetForm(id) {
  const form = $(id);
  form.reset();
  clearErrors(form);
  return form;
}
