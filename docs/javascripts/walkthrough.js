// A step-through over the frames of a <div class="walkthrough">: one frame shown at a time, with
// previous/next buttons, a slider and the arrow keys. docs/hooks.py writes the frames into the page.
function setUpWalkthrough(container) {
  const frames = Array.from(container.querySelectorAll(".walkthrough-frame"));
  if (frames.length === 0 || container.dataset.ready) return;
  container.dataset.ready = "true";
  const controls = document.createElement("div");
  controls.className = "walkthrough-controls";
  controls.innerHTML =
    // The words hide on a phone (extra.css), the arrows stay: the controls then fit on one row.
    '<button type="button" class="md-button walkthrough-prev" aria-label="Previous step">&larr;<span class="walkthrough-label"> Previous</span></button>' +
    '<input type="range" class="walkthrough-slider" min="0" step="1" aria-label="Step">' +
    '<button type="button" class="md-button walkthrough-next" aria-label="Next step"><span class="walkthrough-label">Next </span>&rarr;</button>' +
    '<span class="walkthrough-counter" aria-live="polite"></span>';
  container.prepend(controls);
  const previous = controls.querySelector(".walkthrough-prev");
  const next = controls.querySelector(".walkthrough-next");
  const slider = controls.querySelector(".walkthrough-slider");
  const counter = controls.querySelector(".walkthrough-counter");
  slider.max = String(frames.length - 1);
  // A phone shows each frame at a fixed fraction of its natural size (extra.css), which CSS cannot read.
  container.querySelectorAll(".walkthrough-frame img").forEach((image) => {
    const measure = () => image.style.setProperty("--natural-width", `${image.naturalWidth}px`);
    if (image.complete) measure(); else image.addEventListener("load", measure);
  });
  let current = 0;

  function show(index) {
    current = Math.max(0, Math.min(frames.length - 1, index));
    frames.forEach((frame, i) => { frame.hidden = i !== current; });
    bringActiveIntoView(frames[current], container.dataset.highlight);
    slider.value = String(current);
    counter.textContent = `Step ${current + 1} of ${frames.length}`;
    previous.disabled = current === 0;
    next.disabled = current === frames.length - 1;
  }

  previous.addEventListener("click", () => show(current - 1));
  next.addEventListener("click", () => show(current + 1));
  slider.addEventListener("input", () => show(Number(slider.value)));
  container.tabIndex = 0;
  container.addEventListener("keydown", (event) => {
    if (event.key === "ArrowLeft") { show(current - 1); event.preventDefault(); }
    if (event.key === "ArrowRight") { show(current + 1); event.preventDefault(); }
  });
  show(0);
}

// On a phone a frame is wider than the screen and scrolls sideways (extra.css): scroll it so that the
// operation whose rule runs (the node outlined in the highlight colour) is in the middle.
async function bringActiveIntoView(frame, colour) {
  const image = frame.querySelector("img");
  if (!image || !colour) return;
  if (!("activeX" in image.dataset)) {
    const svg = new DOMParser().parseFromString(await (await fetch(image.src)).text(), "image/svg+xml");
    const active = svg.querySelector(`g.node ellipse[stroke="${colour}"]`);
    const width = svg.documentElement.viewBox.baseVal.width;
    image.dataset.activeX = active && width ? String(active.cx.baseVal.value / width) : "";
  }
  if (image.dataset.activeX && frame.scrollWidth > frame.clientWidth) {
    frame.scrollLeft = Number(image.dataset.activeX) * image.clientWidth - frame.clientWidth / 2;
  }
}

document$.subscribe(({ body }) => {
  body.querySelectorAll(".walkthrough").forEach(setUpWalkthrough);
});
