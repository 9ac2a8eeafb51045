// Log in with a session cookie; admins land on the dashboard, users on their extension.
import { api } from "../lib/api.js";
import { $ } from "../lib/dom.js";
import { onSubmit } from "../lib/forms.js";

$("#login-username")?.focus();
onSubmit($("#login-form"), async (v) => {
  const r = await api("POST", "/api/auth/login", {
    username: v.username,
    password: v.password,
    cookie: true,
  });
  location.assign(r.role === "admin" ? "/" : "/me");
});
