// The only script the pages run, served from the binary.
//
// Copy buttons: <button data-copy="ID"> copies the text of the element with that id. Where the
// clipboard is not available, the text is selected so Ctrl+C copies it.
document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  if (!source) return;
  const text = source.textContent.trim();
  const select = () => {
    const range = document.createRange();
    range.selectNodeContents(source);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    button.textContent = "Selected: press Ctrl+C";
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(() => { button.textContent = "Copied"; }, select);
  } else {
    select();
  }
});

// Forms that undo something a tenant relies on ask first: <form data-confirm="...">.
document.addEventListener("submit", (event) => {
  const question = event.target.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});

// Refresh jobs that are queued or running carry data-poll: their row follows the job's JSON
// view until it is done or failed, then the page reloads to offer what follows (a retry).
const words = (seconds) => {
  if (seconds === null || seconds === undefined) return "";
  return seconds < 60 ? `about ${Math.ceil(seconds)} s left` : `about ${Math.ceil(seconds / 60)} min left`;
};
const follow = (row) => {
  const tick = async () => {
    let job;
    try {
      const reply = await fetch(row.dataset.poll, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!reply.ok) return;
      job = await reply.json();
    } catch (_) {
      setTimeout(tick, 2000);
      return;
    }
    row.dataset.status = job.status;
    row.querySelector(".status").textContent = job.status;
    row.querySelector(".phase").textContent = job.phase;
    row.querySelector(".error").textContent = job.error || "";
    row.querySelector("progress").value = job.percent;
    row.querySelector(".rows").textContent = `${job.rowsCopied} / ${job.rowsTotal}`;
    row.querySelector(".eta").textContent = words(job.estimatedSecondsLeft);
    if (job.status === "done" || job.status === "failed") {
      setTimeout(() => window.location.reload(), 500);
    } else {
      setTimeout(tick, 500);
    }
  };
  tick();
};
document.querySelectorAll("tr[data-poll]").forEach(follow);
