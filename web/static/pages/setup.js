// First boot: set the admin password (POST /api/setup once), then log in.
import { api } from "../lib/api.js";
import { $ } from "../lib/dom.js";
import { onSubmit } from "../lib/forms.js";

onSubmit($("#setup-form"), async (v) => {
  if (v.password !== v.confirm) throw new Error("the two passwords differ");
  await api("POST", "/api/setup", { password: v.password });
  location.assign("/login");
});
