// A small JSON reader and writer for AssemblyScript guests (the language
// has no JSON in its standard library). Numbers are read as f64.

export const J_NULL: i32 = 0;
export const J_BOOL: i32 = 1;
export const J_NUM: i32 = 2;
export const J_STR: i32 = 3;
export const J_ARR: i32 = 4;
export const J_OBJ: i32 = 5;

export class JSONValue {
  kind: i32 = J_NULL;
  b: bool = false;
  n: f64 = 0;
  s: string = "";
  items: Array<JSONValue> = new Array<JSONValue>();
  keys: Array<string> = new Array<string>();

  // get returns the member named key of an object, or null.
  get(key: string): JSONValue | null {
    if (this.kind != J_OBJ) return null;
    for (let i = 0; i < this.keys.length; i++) {
      if (this.keys[i] == key) return this.items[i];
    }
    return null;
  }

  // str returns the member named key when it is a string, else "".
  str(key: string): string {
    const v = this.get(key);
    if (v == null || v.kind != J_STR) return "";
    return v.s;
  }

  // isString reports whether the member named key is a string.
  isString(key: string): bool {
    const v = this.get(key);
    return v != null && v.kind == J_STR;
  }

  // strings returns the string items of the array member named key.
  strings(key: string): Array<string> {
    const out = new Array<string>();
    const v = this.get(key);
    if (v == null || v.kind != J_ARR) return out;
    for (let i = 0; i < v.items.length; i++) {
      if (v.items[i].kind == J_STR) out.push(v.items[i].s);
    }
    return out;
  }
}

class Parser {
  i: i32 = 0;
  ok: bool = true;
  constructor(public t: string) {}

  ws(): void {
    while (this.i < this.t.length) {
      const c = this.t.charCodeAt(this.i);
      if (c == 32 || c == 9 || c == 10 || c == 13) this.i++;
      else break;
    }
  }

  value(depth: i32): JSONValue {
    const v = new JSONValue();
    this.ws();
    if (depth > 64 || this.i >= this.t.length) { this.ok = false; return v; }
    const c = this.t.charCodeAt(this.i);
    if (c == 123) { // {
      v.kind = J_OBJ;
      this.i++;
      this.ws();
      if (this.peek() == 125) { this.i++; return v; }
      while (this.ok) {
        this.ws();
        if (this.peek() != 34) { this.ok = false; break; }
        const k = this.string();
        this.ws();
        if (this.peek() != 58) { this.ok = false; break; }
        this.i++;
        v.keys.push(k);
        v.items.push(this.value(depth + 1));
        this.ws();
        const d = this.peek();
        this.i++;
        if (d == 125) break;
        if (d != 44) this.ok = false;
      }
    } else if (c == 91) { // [
      v.kind = J_ARR;
      this.i++;
      this.ws();
      if (this.peek() == 93) { this.i++; return v; }
      while (this.ok) {
        v.items.push(this.value(depth + 1));
        this.ws();
        const d = this.peek();
        this.i++;
        if (d == 93) break;
        if (d != 44) this.ok = false;
      }
    } else if (c == 34) {
      v.kind = J_STR;
      v.s = this.string();
    } else if (this.t.startsWith("true", this.i)) {
      v.kind = J_BOOL; v.b = true; this.i += 4;
    } else if (this.t.startsWith("false", this.i)) {
      v.kind = J_BOOL; this.i += 5;
    } else if (this.t.startsWith("null", this.i)) {
      this.i += 4;
    } else {
      const start = this.i;
      while (this.i < this.t.length) {
        const d = this.t.charCodeAt(this.i);
        if ((d >= 48 && d <= 57) || d == 45 || d == 43 || d == 46 || d == 101 || d == 69) this.i++;
        else break;
      }
      if (start == this.i) { this.ok = false; return v; }
      v.kind = J_NUM;
      v.n = parseFloat(this.t.substring(start, this.i));
    }
    return v;
  }

  peek(): i32 {
    return this.i < this.t.length ? this.t.charCodeAt(this.i) : -1;
  }

  string(): string {
    this.i++; // opening quote
    let out = "";
    let start = this.i;
    while (this.i < this.t.length) {
      const c = this.t.charCodeAt(this.i);
      if (c == 34) {
        out += this.t.substring(start, this.i);
        this.i++;
        return out;
      }
      if (c == 92) {
        out += this.t.substring(start, this.i);
        const e = this.t.charCodeAt(this.i + 1);
        this.i += 2;
        if (e == 110) out += "\n";
        else if (e == 116) out += "\t";
        else if (e == 114) out += "\r";
        else if (e == 98) out += "\b";
        else if (e == 102) out += "\f";
        else if (e == 117) {
          out += String.fromCharCode(<i32>parseInt(this.t.substring(this.i, this.i + 4), 16));
          this.i += 4;
        } else out += String.fromCharCode(e);
        start = this.i;
        continue;
      }
      this.i++;
    }
    this.ok = false;
    return out;
  }
}

// parse parses text; it returns null when text is not valid JSON.
export function parse(text: string): JSONValue | null {
  const p = new Parser(text);
  const v = p.value(0);
  p.ws();
  if (!p.ok || p.i != text.length) return null;
  return v;
}

// quote returns s as a JSON string literal.
export function quote(s: string): string {
  let out = "\"";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c == 34) out += "\\\"";
    else if (c == 92) out += "\\\\";
    else if (c == 10) out += "\\n";
    else if (c == 13) out += "\\r";
    else if (c == 9) out += "\\t";
    else if (c < 32) {
      const h = c.toString(16);
      out += "\\u" + "0000".substring(h.length) + h;
    } else out += String.fromCharCode(c);
  }
  return out + "\"";
}

// quoteList returns a JSON array of strings.
export function quoteList(l: Array<string>): string {
  let out = "[";
  for (let i = 0; i < l.length; i++) {
    if (i > 0) out += ",";
    out += quote(l[i]);
  }
  return out + "]";
}
