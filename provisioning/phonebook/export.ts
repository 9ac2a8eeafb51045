/**
 * Phone book exports: Yealink XML, Cisco XML, Polycom directory, Grandstream XML and JSON.
 * Every name goes through XML escaping; control characters are dropped.
 */
import { escapeXml } from "../templates/engine.ts";
import type { Contact } from "../types.ts";

/** Supported phone book formats. */
export type PhonebookFormat = "yealink" | "cisco" | "polycom" | "grandstream" | "json";

/** The formats, for routing `/prov/phonebook/<format>`. */
export const PHONEBOOK_FORMATS: readonly PhonebookFormat[] = [
  "yealink",
  "cisco",
  "polycom",
  "grandstream",
  "json",
];

/** A rendered phone book. */
export interface RenderedPhonebook {
  body: string;
  contentType: string;
}

const XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n';

function sorted(contacts: Contact[]): Contact[] {
  return [...contacts].sort((a, b) => a.name.localeCompare(b.name) || a.number.localeCompare(b.number));
}

/** Render `contacts` in `format`. Throws RangeError for an unknown format. */
export function renderPhonebook(contacts: Contact[], format: PhonebookFormat | string): RenderedPhonebook {
  const list = sorted(contacts);
  const x = escapeXml;
  switch (format) {
    case "yealink": {
      // Yealink remote phone book: <YealinkIPPhoneDirectory><DirectoryEntry><Name/><Telephone/>.
      const entries = list.map((c) =>
        `  <DirectoryEntry>\n    <Name>${x(c.name)}</Name>\n    <Telephone>${
          x(c.number)
        }</Telephone>\n  </DirectoryEntry>\n`
      );
      return {
        body: `${XML_HEAD}<YealinkIPPhoneDirectory>\n${entries.join("")}</YealinkIPPhoneDirectory>\n`,
        contentType: "application/xml",
      };
    }
    case "cisco": {
      // Cisco XML service object: <CiscoIPPhoneDirectory><Title/><DirectoryEntry><Name/><Telephone/>.
      const entries = list.map((c) =>
        `  <DirectoryEntry>\n    <Name>${x(c.name)}</Name>\n    <Telephone>${
          x(c.number)
        }</Telephone>\n  </DirectoryEntry>\n`
      );
      return {
        body:
          `${XML_HEAD}<CiscoIPPhoneDirectory>\n  <Title>Directory</Title>\n  <Prompt>Select an entry</Prompt>\n${
            entries.join("")
          }</CiscoIPPhoneDirectory>\n`,
        contentType: "text/xml",
      };
    }
    case "polycom": {
      // Polycom local contact directory (000000000000-directory.xml): item_list/item with fn, ln, ct.
      const entries = list.map((c) => {
        const [fn, ...rest] = c.name.split(" ");
        return `  <item>\n   <fn>${x(fn ?? "")}</fn>\n   <ln>${x(rest.join(" "))}</ln>\n   <ct>${
          x(c.number)
        }</ct>\n  </item>\n`;
      });
      return {
        body: `${XML_HEAD}<directory>\n <item_list>\n${entries.join("")} </item_list>\n</directory>\n`,
        contentType: "application/xml",
      };
    }
    case "grandstream": {
      // Grandstream phone book XML: AddressBook/Contact with FirstName, LastName, Phone/phonenumber.
      const entries = list.map((c) => {
        const [fn, ...rest] = c.name.split(" ");
        return `  <Contact>\n    <FirstName>${x(fn ?? "")}</FirstName>\n    <LastName>${
          x(rest.join(" "))
        }</LastName>\n    <Phone>\n      <phonenumber>${
          x(c.number)
        }</phonenumber>\n      <accountindex>1</accountindex>\n    </Phone>\n  </Contact>\n`;
      });
      return {
        body: `${XML_HEAD}<AddressBook>\n${entries.join("")}</AddressBook>\n`,
        contentType: "application/xml",
      };
    }
    case "json":
      return {
        body: JSON.stringify(
          list.map((c) => ({
            name: c.name,
            number: c.number,
            kind: c.kind ?? "external",
            ...(c.group ? { group: c.group } : {}),
          })),
        ),
        contentType: "application/json",
      };
    default:
      throw new RangeError(`unknown phone book format "${format}"`);
  }
}
