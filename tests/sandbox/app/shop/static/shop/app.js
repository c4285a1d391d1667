// The sandbox shop's script: marks the current page's link in the navigation.
document.addEventListener("DOMContentLoaded", () => {
  for (const a of document.querySelectorAll("nav a")) {
    if (location.pathname.startsWith(a.getAttribute("href"))) a.style.fontWeight = "bold";
  }
});
