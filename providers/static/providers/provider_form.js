// The provider form, enhanced: choosing a type shows only that type's settings guide and
// hides the inputs it does not use (base URL and extra headers for program-based types, the
// key for types that take none). Without this script every input and every type's guide
// shows, and the server validates all the same. An input that holds a value or an error
// stays visible, so nothing typed is hidden.
(function () {
  "use strict";
  function init() {
    const select = document.getElementById("id_provider_type");
    const data = document.getElementById("provider-type-guide");
    const guide = document.getElementById("type-guide");
    if (!select || !data || !guide) return;
    const types = {};
    for (const t of JSON.parse(data.textContent)) types[t.type] = t;
    const settingsRow = document.querySelector(".form-row.field-settings");
    if (settingsRow) settingsRow.after(guide);  // beside the box it explains

    function row(name) { return document.querySelector(".form-row.field-" + name); }
    function keep(r) {
      if (!r) return false;
      if (r.querySelector(".errorlist")) return true;
      return Array.from(r.querySelectorAll("input[type=text], input[type=url], input[type=password], textarea"))
        .some((el) => el.value.trim() !== "");
    }
    function show(names, visible) {
      for (const name of names) {
        const r = row(name);
        if (r) r.hidden = !visible && !keep(r);
      }
    }
    function apply() {
      const t = types[select.value];
      for (const part of guide.querySelectorAll(".type-guide-part")) part.hidden = !!t && part.dataset.type !== select.value;
      if (!t) { show(["base_url", "new_extra_headers", "header_names", "new_api_key", "clear_api_key", "key_status"], true); return; }
      show(["base_url", "new_extra_headers", "header_names"], t.uses_base_url);
      show(["new_api_key", "clear_api_key", "key_status"], t.accepts_api_key);
      const url = document.getElementById("id_base_url");
      if (url) url.placeholder = t.default_base_url || "";
      guide.querySelector("summary").dataset.type = select.value;
    }
    select.addEventListener("change", apply);
    apply();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
