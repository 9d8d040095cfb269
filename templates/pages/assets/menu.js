// The keyboard of a menu of buttons (the row menu, the session's popovers): ArrowDown and
// ArrowUp move through the items (round), Home and End go to the first and the last, Escape
// closes the menu and returns focus to the button that opened it; with `closeOnTab`, Tab closes
// it and lets focus move on.
export function menuKeyboard(menu, { items, close, closeOnTab = false }) {
  menu.addEventListener("keydown", (event) => {
    const list = items();
    const index = list.indexOf(document.activeElement);
    const go = (to) => {
      event.preventDefault();
      if (list.length) list[(to + list.length) % list.length].focus();
    };
    if (event.key === "ArrowDown") go(index + 1);
    else if (event.key === "ArrowUp") go(index - 1);
    else if (event.key === "Home") go(0);
    else if (event.key === "End") go(list.length - 1);
    else if (event.key === "Escape") {
      event.preventDefault();
      close(true);
    } else if (event.key === "Tab" && closeOnTab) close(false);
  });
}
