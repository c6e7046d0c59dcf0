// readaloud listening page: buttons, chapters, read-along highlight, shortcuts, resume.
// The page is complete without this script; it only adds to what is there.
(function () {
  "use strict";
  var audio = document.getElementById("audio");
  var main = document.getElementById("main");
  if (!audio || !main) return;
  var SPEEDS = [0.75, 1, 1.25, 1.5, 1.75, 2];
  var key = "readaloud:position:" + main.getAttribute("data-episode");
  var controls = document.getElementById("controls");
  var playButton = controls.querySelector('[data-action="play"]');
  var rateOut = document.getElementById("rate");
  var follow = document.getElementById("follow");
  var announcer = document.getElementById("announcer");
  var reduceMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  controls.hidden = false;

  // chapters: links (media fragments without the script) become buttons that seek and play
  var chapters = Array.prototype.map.call(document.querySelectorAll("a.chapter"), function (link) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "chapter";
    button.setAttribute("data-start", link.getAttribute("data-start"));
    while (link.firstChild) button.appendChild(link.firstChild);
    link.parentNode.replaceChild(button, link);
    button.addEventListener("click", function () { seek(start(button)); play(); });
    return button;
  });
  // the transcript is one tab stop (the sentence being read, else the first): Up and Down move
  // between sentences, Enter plays from one, so Tab never walks through hundreds of them
  var sentences = Array.prototype.slice.call(document.querySelectorAll(".transcript .s"));
  var stop = sentences[0];
  function rove(s) { if (stop) stop.tabIndex = -1; stop = s; s.tabIndex = 0; }
  sentences.forEach(function (s, i) {
    s.tabIndex = i === 0 ? 0 : -1;
    s.addEventListener("focus", function () { rove(s); });
    s.addEventListener("click", function () { seek(start(s)); });
    s.addEventListener("keydown", function (e) {
      if (e.key === "Enter") { e.preventDefault(); seek(start(s)); }
      else if (e.key === "ArrowDown" && sentences[i + 1]) { e.preventDefault(); sentences[i + 1].focus(); }
      else if (e.key === "ArrowUp" && sentences[i - 1]) { e.preventDefault(); sentences[i - 1].focus(); }
    });
  });

  function start(el) { return parseFloat(el.getAttribute("data-start")); }
  function seek(t) { audio.currentTime = Math.max(0, t); update(); }
  function play() { var p = audio.play(); if (p && p.catch) p.catch(function () {}); }
  function toggle() { if (audio.paused) play(); else audio.pause(); }
  function chapterIndex(t) {
    var found = 0;
    chapters.forEach(function (c, i) { if (start(c) <= t + 0.05) found = i; });
    return found;
  }
  function jumpChapter(step) {
    var i = chapterIndex(audio.currentTime);
    // "previous" during the first seconds of a chapter goes to the one before, like a CD player
    if (step < 0 && audio.currentTime - start(chapters[i]) > 3) step = 0;
    var target = chapters[Math.min(chapters.length - 1, Math.max(0, i + step))];
    if (target) seek(start(target));
  }
  function setRate(step) {
    var i = SPEEDS.indexOf(audio.playbackRate);
    if (i < 0) i = 1;
    audio.playbackRate = SPEEDS[Math.min(SPEEDS.length - 1, Math.max(0, i + step))];
  }
  function clock(t) {
    t = Math.round(t);
    var m = Math.floor(t / 60), s = t % 60;
    return m + ":" + (s < 10 ? "0" : "") + s;
  }

  var currentSentence = null, currentChapter = -1;
  function update() {
    var t = audio.currentTime;
    var hit = null;
    for (var i = 0; i < sentences.length; i++) {
      if (start(sentences[i]) <= t + 0.02) hit = sentences[i]; else break;
    }
    if (hit && t > parseFloat(hit.getAttribute("data-end")) + 2) hit = null;
    if (hit !== currentSentence) {
      if (currentSentence) currentSentence.removeAttribute("aria-current");
      currentSentence = hit;
      if (hit) {
        hit.setAttribute("aria-current", "true");
        if (document.activeElement && !document.activeElement.classList.contains("s")) rove(hit);
        if (follow.checked && !audio.paused) {
          hit.scrollIntoView({ block: "center", behavior: reduceMotion ? "auto" : "smooth" });
        }
      }
    }
    var c = chapters.length ? chapterIndex(t) : -1;
    if (c !== currentChapter) {
      var first = currentChapter < 0;
      if (!first) chapters[currentChapter].removeAttribute("aria-current");
      currentChapter = c;
      if (c >= 0) {
        chapters[c].setAttribute("aria-current", "true");
        // a polite word when the chapter changes (not at page load), never one per sentence
        if (!first) announcer.textContent = "第" + (c + 1) + "节：" + chapters[c].querySelector(".label").textContent;
      }
    }
  }
  function tick() { update(); if (!audio.paused) window.requestAnimationFrame(tick); }

  var saved = 0;
  function remember() {
    try { localStorage.setItem(key, String(audio.currentTime)); } catch (e) { /* file:// or private mode */ }
  }
  audio.addEventListener("play", function () {
    playButton.textContent = "暂停"; window.requestAnimationFrame(tick);
  });
  audio.addEventListener("pause", function () { playButton.textContent = "播放"; update(); remember(); });
  audio.addEventListener("seeked", update);
  audio.addEventListener("timeupdate", function () {
    update();
    if (Math.abs(audio.currentTime - saved) > 5) { saved = audio.currentTime; remember(); }
  });
  audio.addEventListener("ratechange", function () { rateOut.textContent = audio.playbackRate + "×"; });
  audio.addEventListener("ended", function () { try { localStorage.removeItem(key); } catch (e) {} });
  window.addEventListener("pagehide", remember);

  controls.addEventListener("click", function (e) {
    var action = e.target.closest("button") && e.target.closest("button").getAttribute("data-action");
    if (action === "play") toggle();
    else if (action === "back") seek(audio.currentTime - 15);
    else if (action === "forward") seek(audio.currentTime + 30);
    else if (action === "previous") jumpChapter(-1);
    else if (action === "next") jumpChapter(1);
    else if (action === "slower") setRate(-1);
    else if (action === "faster") setRate(1);
  });

  var resume = document.getElementById("resume");
  var position = null;
  try { position = parseFloat(localStorage.getItem(key)); } catch (e) { position = null; }
  if (position && position > 5) {
    document.getElementById("resume-text").textContent = "上次听到 " + clock(position) + "。";
    var again = resume.querySelector("button");
    again.textContent = "从 " + clock(position) + " 继续收听";
    again.addEventListener("click", function () { seek(position); play(); resume.hidden = true; });
    resume.hidden = false;
  }

  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    var t = e.target;
    if (t.closest && t.closest("input, select, textarea, [contenteditable], audio")) return;
    var onControl = t.closest && t.closest("button, a, summary");
    var k = e.key;
    if (k === " " || k === "Spacebar") {
      if (onControl) return; // a focused button or link does its own thing with Space
      e.preventDefault(); toggle();
    } else if (k === "j" || k === "J" || k === "ArrowLeft") { e.preventDefault(); seek(audio.currentTime - 15); }
    else if (k === "l" || k === "L" || k === "ArrowRight") { e.preventDefault(); seek(audio.currentTime + 30); }
    else if (k === "[") { e.preventDefault(); jumpChapter(-1); }
    else if (k === "]") { e.preventDefault(); jumpChapter(1); }
    else if (k === "+" || k === "=") { e.preventDefault(); setRate(1); }
    else if (k === "-" || k === "_") { e.preventDefault(); setRate(-1); }
  });
  update();
})();
