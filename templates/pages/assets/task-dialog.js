// The task dialog (row menu "New task"): a follow-up task in the document workflow.
import { api, formatDay, formatTime, toast } from "./common.js";
import { $, state } from "./schedule-state.js";
import { clearErrors, resetForm, showError } from "./forms.js";

export function openTaskDialog(a) {
  state.taskFor = a;
  resetForm("task-form");
  $("task-for").textContent = `For ${a.patient_name}, ${formatDay(a.starts_at)} ${formatTime(a.starts_at)}`;
  $("task-title").value = `Follow-up: ${a.patient_name}`;
  $("task-dialog").showModal();
  $("task-title").select();
}
$("task-cancel").addEventListener("click", () => $("task-dialog").close());
$("task-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  $("task-create").disabled = true;
  try {
    await api(`appointments/${state.taskFor.id}/tasks`, {
      method: "POST", token: state.token, body: { title: $("task-title").value, note: $("task-note").value },
    });
    $("task-dialog").close();
    toast(`Task created in the document workflow for ${state.taskFor.patient_name}.`);
  } catch (exc) {
    showError(form, exc, { title: "task-title", note: "task-note" });
  } finally {
    $("task-create").disabled = false;
  }
});
