// Varco: the only script of our own (served as /static/varco.js). No dependencies.
// Submits, once the page has loaded, every form marked `data-autosubmit` (used to
// hand a POST on to the next step, e.g. an OIDC form_post); each such form should
// keep a visible submit button for browsers without JavaScript.
document.addEventListener("DOMContentLoaded", function () {
  var forms = document.querySelectorAll("form[data-autosubmit]");
  for (var i = 0; i < forms.length; i++) {
    forms[i].submit();
  }
});
