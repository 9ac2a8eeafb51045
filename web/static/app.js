// PBX admin UI shell, loaded on every page (web/pages/_kit.ts layout): the logout form. Each page's
// own script is pages/<page>.js (an ES module like this one); shared helpers are in lib/. Plain JS,
// no dependencies, served from the box. All text goes in via textContent, never as markup.
import { api } from "./lib/api.js";
import { $ } from "./lib/dom.js";
import { onSubmit } from "./lib/forms.js";

onSubmit($("#logout-form"), async () => {
  await api("POST", "/api/auth/logout");
  location.assign("/login");
});
