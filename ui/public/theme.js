// Sets data-theme from the saved choice before the dashboard renders (no flash of the wrong theme).
try {
  var theme = localStorage.getItem('heimdall.theme');
  if (theme === 'light' || theme === 'dark') document.documentElement.setAttribute('data-theme', theme);
} catch (error) {
  /* storage blocked: follow the system */
}
