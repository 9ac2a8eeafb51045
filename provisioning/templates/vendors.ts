/**
 * Shipped templates, one set per vendor. Every key used is checked against a public source;
 * the source is named above each template and listed in SOURCES.md.
 */
import type { EscapeMode } from "./engine.ts";
import type { Vendor } from "../types.ts";

/** One shipped template. */
export interface TemplateSpec {
  vendor: Vendor;
  kind: "common" | "device" | "master";
  escape: EscapeMode;
  contentType: string;
  source: string;
}

// Yealink (T4x/T5x, firmware v8x). Keys: wazo-platform/wazo-provd-plugins
// plugins/wazo-yealink/v86/templates/base.tpl (account.N.*, local_time.*, remote_phonebook.*);
// Yealink y000000000028.cfg sample (pastebin.com/iqHw2U9A) for remote_phonebook.data.X.name;
// Yealink common template (multicast.listen_address.X.channel/label/ip_address, "ip:port");
// linekey.N.type = 16 is BLF (Yealink line key type table, e.g. in vendor T4x docs); 13 speed dial,
// 10 call park (fusionpbx app/devices/resources/classes/yealink.php key function table);
// account.N.subscribe_mwi / subscribe_mwi_to_vm, voice_mail.number.N, features.pickup.
// direct_pickup_enable / direct_pickup_code (public Yealink templates, see SOURCES.md).
// TLS and SRTP: account.N.sip_server.1.transport_type (0 UDP, 2 TLS: wazo-yealink v86 base.tpl and
// common.py _SIP_TRANSPORT), account.N.srtp_encryption (0 disabled, 1 optional, 2 compulsory),
// static.trusted_certificates.url and static.security.trust_certificates (Yealink common template).
const YEALINK_COMMON = `#!version:1.0.0.1
## Common file for all Yealink phones (no credentials here).
local_time.ntp_server1 = {{ server.ntpServer }}
local_time.time_zone = {{ server.utcOffsetHours }}
local_time.summer_time = 0
remote_phonebook.data.1.url = {{ phonebookUrl }}
remote_phonebook.data.1.name = Directory
{{#each paging}}
multicast.listen_address.{{ slot }}.ip_address = {{ address }}:{{ port }}
multicast.listen_address.{{ slot }}.label = {{ label }}
multicast.listen_address.{{ slot }}.channel = {{ channel }}
{{/each}}
`;

const YEALINK_DEVICE = `#!version:1.0.0.1
## Device file for {{ mac }}
{{#if hasAccount}}
account.1.enable = 1
account.1.label = {{ account.number }}
account.1.display_name = {{ account.name }}
account.1.auth_name = {{ account.authName }}
account.1.user_name = {{ account.number }}
account.1.password = {{ account.password }}
account.1.sip_server.1.address = {{ server.host }}
account.1.sip_server.1.port = {{ account.port }}
account.1.sip_server.1.transport_type = {{ account.yealinkTransport }}
account.1.srtp_encryption = {{ account.yealinkSrtp }}
{{#if account.tls}}
{{#if server.caUrl}}
static.trusted_certificates.url = {{ server.caUrl }}
static.security.trust_certificates = 1
{{/if}}
{{/if}}
account.1.subscribe_mwi = 1
account.1.subscribe_mwi_to_vm = 1
voice_mail.number.1 = {{ voicemailNumber }}
{{else}}
## Not assigned to an extension yet: no account.
account.1.enable = 0
{{/if}}
local_time.ntp_server1 = {{ server.ntpServer }}
local_time.time_zone = {{ server.utcOffsetHours }}
remote_phonebook.data.1.url = {{ phonebookUrl }}
remote_phonebook.data.1.name = Directory
features.pickup.direct_pickup_enable = 1
features.pickup.direct_pickup_code = {{ pickupPrefix }}
{{#each keys}}
linekey.{{ key }}.type = {{ yealinkType }}
linekey.{{ key }}.line = 1
linekey.{{ key }}.value = {{ value }}
linekey.{{ key }}.label = {{ label }}
{{/each}}
{{#each paging}}
multicast.listen_address.{{ slot }}.ip_address = {{ address }}:{{ port }}
multicast.listen_address.{{ slot }}.label = {{ label }}
multicast.listen_address.{{ slot }}.channel = {{ channel }}
{{/each}}
`;

// Polycom UC Software (VVX). Master file shape: greiginsydney/000000000000.cfg (APPLICATION with
// APP_FILE_PATH and CONFIG_FILES). Keys: wazo-provd-plugins plugins/wazo-polycom/common/
// templates/base.tpl and common.py (reg.N.*, tcpIpApp.sntp.address, tcpIpApp.sntp.gmtOffset,
// attendant.resourceList.N.address/label); paging: gogglespisano/Asterisk-Multicast-Paging-
// Repeater README (ptt.address, ptt.port, ptt.pageMode.enable, ptt.pageMode.group.N.*).
// Keys and MWI: wazo-polycom base.tpl (msg.mwi.N.subscribe/callBackMode/callBack,
// call.directedCallPickupString, attendant.reg); attendant.resourceList.N.type normal|automata
// and call.directedCallPickupMethod="legacy" (public Polycom configs, see SOURCES.md).
// TLS and SRTP: reg.N.server.1.transport TLS | UDPOnly (wazo-polycom base.tpl; public Poly
// configs), sec.srtp.enable/offer/require (wazo-polycom base.tpl), the CA inline as
// device.sec.TLS.customCaCert1 with device.sec.TLS.customCaCert1.set (public Poly configs).
const POLYCOM_MASTER = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<APPLICATION APP_FILE_PATH="sip.ld" CONFIG_FILES="{{ deviceFiles }}" MISC_FILES="" LOG_FILE_DIRECTORY="" OVERRIDES_DIRECTORY="" CONTACTS_DIRECTORY="" />
`;

const POLYCOM_COMMON = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<polycomConfig
 tcpIpApp.sntp.address.overrideDHCP="1"
 tcpIpApp.sntp.address="{{ server.ntpServer }}"
 tcpIpApp.sntp.gmtOffset="{{ server.utcOffsetSeconds }}"
 tcpIpApp.sntp.daylightSavings.enable="0"
 voIpProt.server.1.address="{{ server.host }}"
 voIpProt.server.1.port="{{ server.sipPort }}"
 mb.main.home="{{ phonebookUrl }}"
{{#if hasPaging}}
 ptt.pageMode.enable="1"
 ptt.address="{{ pagingAddress }}"
 ptt.port="{{ pagingPort }}"
{{#each paging}}
 ptt.pageMode.group.{{ channel }}.available="1"
 ptt.pageMode.group.{{ channel }}.allowReceive="1"
 ptt.pageMode.group.{{ channel }}.subscribed="1"
{{/each}}
{{/if}}
/>
`;

const POLYCOM_DEVICE = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<polycomConfig
{{#if hasAccount}}
 reg.1.address="{{ account.number }}"
 reg.1.label="{{ account.number }}"
 reg.1.displayName="{{ account.name }}"
 reg.1.auth.userId="{{ account.authName }}"
 reg.1.auth.password="{{ account.password }}"
 reg.1.server.1.address="{{ server.host }}"
 reg.1.server.1.port="{{ account.port }}"
 reg.1.server.1.transport="{{ account.polycomTransport }}"
 sec.srtp.enable="{{ account.polycomSrtpOffer }}"
 sec.srtp.offer="{{ account.polycomSrtpOffer }}"
 sec.srtp.require="{{ account.polycomSrtpRequire }}"
{{#if account.tls}}
{{#if server.caPem}}
 device.sec.TLS.customCaCert1.set="1"
 device.sec.TLS.customCaCert1="{{ server.caPem }}"
{{/if}}
{{/if}}
 msg.mwi.1.subscribe="{{ account.number }}"
 msg.mwi.1.callBackMode="contact"
 msg.mwi.1.callBack="{{ voicemailNumber }}"
{{/if}}
 call.directedCallPickupMethod="legacy"
 call.directedCallPickupString="{{ pickupPrefix }}"
{{#if polycomKeys}}
 attendant.reg="1"
{{/if}}
{{#each polycomKeys}}
 attendant.resourceList.{{ @number }}.address="{{ value }}"
 attendant.resourceList.{{ @number }}.label="{{ label }}"
 attendant.resourceList.{{ @number }}.type="{{ polycomType }}"
{{/each}}
/>
`;

// Cisco SPA / MPP (3PCC) flat profile. Keys: wazo-provd-plugins wazo-cisco-spa templates
// (Primary_NTP_Server, XML_Directory_Service_Name/URL), public SPA flat-profile samples
// (Line_Enable_1_, Proxy_1_, SIP_Port_1_, Display_Name_1_, User_ID_1_, Password_1_, Auth_ID_1_,
// Use_Auth_ID_1_, Time_Zone "GMT+01:00", Extension_N_ + Extended_Function_N_ "fnc=blf+sd+cp;
// sub=...;nme=..."), Group_Paging_Script "pggrp=ADDR:PORT;name=..;num=..;listen=yes;".
// Keys: Cisco MPP admin guides (fnc=sd;ext=..., fnc=prk;sub=...; Voice_Mail_Number,
// Voice_Mail_Server_1_, Voice_Mail_Enable_1_ in the voicemail chapter); Call_Pickup_Code:
// wazo-provd-plugins wazo-cisco-spa templates.
// TLS and SRTP: SIP_Transport_N_ UDP | TLS ("Encrypt Signaling with SIP Over TLS"), Secure_Call_Serv
// and Secure_Call_Option_N_ Optional | Required | Strict ("Set up a Secure Extension"),
// Custom_CA_Rule (the CA's URL): Cisco MPP administration guides, see SOURCES.md.
const CISCO_DEVICE = `<?xml version="1.0" encoding="UTF-8"?>
<flat-profile>
{{#if hasAccount}}
  <Line_Enable_1_>Yes</Line_Enable_1_>
  <Proxy_1_>{{ server.host }}</Proxy_1_>
  <SIP_Port_1_>{{ account.port }}</SIP_Port_1_>
  <SIP_Transport_1_>{{ account.ciscoTransport }}</SIP_Transport_1_>
{{#if account.srtp}}
  <Secure_Call_Serv>Yes</Secure_Call_Serv>
  <Secure_Call_Option_1_>{{ account.ciscoSecureCall }}</Secure_Call_Option_1_>
{{/if}}
{{#if account.tls}}
{{#if server.caUrl}}
  <Custom_CA_Rule>{{ server.caUrl }}</Custom_CA_Rule>
{{/if}}
{{/if}}
  <Display_Name_1_>{{ account.name }}</Display_Name_1_>
  <User_ID_1_>{{ account.number }}</User_ID_1_>
  <Password_1_>{{ account.password }}</Password_1_>
  <Use_Auth_ID_1_>Yes</Use_Auth_ID_1_>
  <Auth_ID_1_>{{ account.authName }}</Auth_ID_1_>
  <Voice_Mail_Server_1_>{{ server.host }}:{{ account.port }}</Voice_Mail_Server_1_>
  <Voice_Mail_Enable_1_>Yes</Voice_Mail_Enable_1_>
{{else}}
  <Line_Enable_1_>No</Line_Enable_1_>
{{/if}}
  <Primary_NTP_Server>{{ server.ntpServer }}</Primary_NTP_Server>
  <Time_Zone>{{ server.ciscoTimeZone }}</Time_Zone>
  <XML_Directory_Service_Name>Directory</XML_Directory_Service_Name>
  <XML_Directory_Service_URL>{{ phonebookUrl }}</XML_Directory_Service_URL>
  <Voice_Mail_Number>{{ voicemailNumber }}</Voice_Mail_Number>
  <Call_Pickup_Code>{{ pickupPrefix }}</Call_Pickup_Code>
{{#each keys}}
  <Extension_{{ key }}_>Disabled</Extension_{{ key }}_>
  <Extended_Function_{{ key }}_>{{ ciscoFunction }}</Extended_Function_{{ key }}_>
{{/each}}
  <Group_Paging_Script>{{ ciscoPagingScript }}</Group_Paging_Script>
</flat-profile>
`;

// Grandstream GXP/GRP XML. Keys: wazo-provd-plugins wazo-grandstream templates and common.py
// (<gs_provision version="1"><config version="1">, P271 account active, P270 account name,
// P47 SIP server, P35 user id, P36 auth id, P34 password, P3 display name, P30 NTP, P64 POSIX TZ,
// MPK block P23000+(n-1)*5: type (1 = BLF), line, label, value); phone book: P330 = 1 (HTTP),
// P331 path without scheme, P332 interval (several public GS templates). MPK modes 0 speed dial,
// 1 BLF, 9 call park (wazo common.py FUNCKEY_TYPES); P33 voicemail number, P1347 BLF call-pickup
// prefix (wazo base.tpl); P99 = 1 subscribe for MWI (public GS template, see SOURCES.md).
// TLS and SRTP: P130 SIP transport (0 UDP, 2 TLS) and P183 SRTP mode (0 off, 1 enabled not forced,
// 2 forced): public GS templates (code search "<P183>"). Unverified: P8433 for the CA certificate.
const GRANDSTREAM_DEVICE = `<?xml version="1.0" encoding="UTF-8"?>
<gs_provision version="1">
{{#if mac}}
  <mac>{{ mac }}</mac>
{{/if}}
  <config version="1">
{{#if hasAccount}}
    <P271>1</P271>
    <P270>{{ account.number }}</P270>
    <P47>{{ server.host }}:{{ account.port }}</P47>
    <P130>{{ account.gsTransport }}</P130>
    <P183>{{ account.gsSrtp }}</P183>
{{#if account.tls}}
{{#if server.caPem}}
    <P8433>{{ server.caPem }}</P8433>
{{/if}}
{{/if}}
    <P35>{{ account.number }}</P35>
    <P36>{{ account.authName }}</P36>
    <P34>{{ account.password }}</P34>
    <P3>{{ account.name }}</P3>
    <P33>{{ voicemailNumber }}</P33>
    <P99>1</P99>
{{/if}}
    <P30>{{ server.ntpServer }}</P30>
    <P64>{{ server.posixTimeZone }}</P64>
    <P330>1</P330>
    <P331>{{ phonebookPath }}</P331>
    <P332>60</P332>
    <P1347>{{ pickupPrefix }}</P1347>
{{#each keys}}
    <{{ gsType }}>{{ gsMode }}</{{ gsType }}>
    <{{ gsLine }}>0</{{ gsLine }}>
    <{{ gsLabel }}>{{ label }}</{{ gsLabel }}>
    <{{ gsValue }}>{{ value }}</{{ gsValue }}>
{{/each}}
  </config>
</gs_provision>
`;

// Zultys ZIP2x2 INI. File names and section headers: ZIP2x2 User's Manual section 4.2.2
// (ZIP2x2_common.cfg, <MAC>.cfg) and ZIP4x5 manual appendix C ([NET_CONFIG], [SIP_CONFIG],
// [GENERAL_INFO]). Keys: Elastix endpoint configurator for Zultys (CommonFileZultys /
// PrincipalFileZultys: ntp_server_addr, tftp_server_addr, register_w_proxy, proxy_addr,
// proxy_port, device_id, display_name, auth_password, greeting_message).
// No verified keys for a directory URL, BLF/speed-dial/park keys, voicemail number, MWI or paging
// on ZIP2x2: not emitted (the web API refuses keys for Zultys phones). No verified keys for SIP
// over TLS, SRTP or a CA certificate either: a Zultys phone stays on UDP/RTP (see SOURCES.md).
const ZULTYS_COMMON = `[NET_CONFIG]
ntp_server_addr={{ server.ntpServer }}
tftp_server_addr={{ server.host }}

[SIP_CONFIG]
register_w_proxy=yes
proxy_addr={{ server.host }}
proxy_port={{ server.sipPort }}
`;

const ZULTYS_DEVICE = `[SIP_CONFIG]
register_w_proxy=yes
proxy_addr={{ server.host }}
proxy_port={{ server.sipPort }}
{{#if hasAccount}}
device_id={{ account.number }}
display_name={{ account.name }}
auth_password={{ account.password }}

[GENERAL_INFO]
greeting_message={{ account.name }}
{{/if}}
`;

/** All shipped templates, keyed "vendor/kind". */
export const SHIPPED_TEMPLATES: Record<string, TemplateSpec> = {
  "yealink/common": {
    vendor: "yealink",
    kind: "common",
    escape: "ini",
    contentType: "text/plain; charset=utf-8",
    source: YEALINK_COMMON,
  },
  "yealink/device": {
    vendor: "yealink",
    kind: "device",
    escape: "ini",
    contentType: "text/plain; charset=utf-8",
    source: YEALINK_DEVICE,
  },
  "polycom/master": {
    vendor: "polycom",
    kind: "master",
    escape: "xml",
    contentType: "application/xml",
    source: POLYCOM_MASTER,
  },
  "polycom/common": {
    vendor: "polycom",
    kind: "common",
    escape: "xml",
    contentType: "application/xml",
    source: POLYCOM_COMMON,
  },
  "polycom/device": {
    vendor: "polycom",
    kind: "device",
    escape: "xml",
    contentType: "application/xml",
    source: POLYCOM_DEVICE,
  },
  "cisco/device": {
    vendor: "cisco",
    kind: "device",
    escape: "xml",
    contentType: "application/xml",
    source: CISCO_DEVICE,
  },
  "cisco/common": {
    vendor: "cisco",
    kind: "common",
    escape: "xml",
    contentType: "application/xml",
    source: CISCO_DEVICE,
  },
  "grandstream/device": {
    vendor: "grandstream",
    kind: "device",
    escape: "xml",
    contentType: "application/xml",
    source: GRANDSTREAM_DEVICE,
  },
  "grandstream/common": {
    vendor: "grandstream",
    kind: "common",
    escape: "xml",
    contentType: "application/xml",
    source: GRANDSTREAM_DEVICE,
  },
  "zultys/common": {
    vendor: "zultys",
    kind: "common",
    escape: "ini",
    contentType: "text/plain; charset=utf-8",
    source: ZULTYS_COMMON,
  },
  "zultys/device": {
    vendor: "zultys",
    kind: "device",
    escape: "ini",
    contentType: "text/plain; charset=utf-8",
    source: ZULTYS_DEVICE,
  },
};
