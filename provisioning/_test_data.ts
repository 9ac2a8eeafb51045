/** An in-memory ProvisioningData for this folder's tests. */
import type {
  Device,
  DiscoveredDevice,
  ExtensionAccount,
  FetchRecord,
  ProvisioningData,
  ServerSettings,
} from "./types.ts";

/** A fake data source that remembers what was recorded. */
export function fakeData(
  over: { devices?: Device[]; server?: Partial<ServerSettings>; account201?: Partial<ExtensionAccount> } = {},
) {
  const devices = new Map((over.devices ?? [
    {
      mac: "001565aabbcc",
      vendor: "yealink",
      model: "T46S",
      extension: "201",
      lineKeys: [{ type: "blf", value: "202", label: "Bob" }, {
        type: "speeddial",
        value: "0800",
        label: "Help",
      }],
    },
    {
      mac: "0004f2aabbcc",
      vendor: "polycom",
      model: "VVX400",
      extension: "201",
      lineKeys: [{ type: "blf", value: "202", label: "Bob" }],
    },
    {
      mac: "c0ffee000001",
      vendor: "cisco",
      model: "SPA504G",
      extension: "201",
      lineKeys: [{ type: "blf", value: "202", label: "Bob" }],
    },
    {
      mac: "c074ad000001",
      vendor: "grandstream",
      model: "GXP2170",
      extension: "201",
      lineKeys: [{ type: "blf", value: "202", label: "Bob" }],
    },
    { mac: "000bea000001", vendor: "zultys", model: "ZIP2x2", extension: "201" },
    { mac: "001565000009", vendor: "yealink", model: "T46S", extension: null },
  ] as Device[]).map((d) => [d.mac, d]));
  const extensions = new Map<string, ExtensionAccount>([
    ["201", { number: "201", name: 'Alice "A" <Boss>', sipPassword: "s3cr3t&pw", ...over.account201 }],
    ["202", { number: "202", name: "Bob", sipPassword: "bobpw" }],
  ]);
  const server: ServerSettings = {
    sipHost: "192.0.2.10",
    sipPort: 5070,
    httpBase: "http://192.0.2.10:8080",
    ntpServer: "192.0.2.10",
    timeZone: "Europe/Berlin",
    pagingGroups: [{ address: "224.0.2.60", port: 50000, channel: 1, label: "All" }],
    ...over.server,
  };
  const fetches: FetchRecord[] = [];
  const discovered: DiscoveredDevice[] = [];
  const data: ProvisioningData = {
    device: (mac) => devices.get(mac),
    extension: (n) => extensions.get(n),
    server: () => server,
    phonebook: () => [{ name: "Alice", number: "201", kind: "extension" }, {
      name: "Pizza <&>",
      number: "0301234",
      kind: "external",
    }],
    recordFetch: (r) => fetches.push(r),
    recordDiscovered: (d) => discovered.push(d),
  };
  return { data, devices, fetches, discovered };
}
