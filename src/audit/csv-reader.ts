// An incremental RFC 4180 reader: feed text chunks, get complete records (quoted fields may hold
// commas, quotes and line breaks). CRLF and bare LF both end a record.
export class CsvReader {
  private field = '';
  private record: string[] = [];
  private inQuotes = false;
  /** After a closing quote: the next char must be a separator, a line end, or another quote. */
  private afterQuote = false;
  private line = 1;
  private recordLine = 1;
  error?: string;

  push(chunk: string): { fields: string[]; line: number }[] {
    const out: { fields: string[]; line: number }[] = [];
    for (let i = 0; i < chunk.length && !this.error; i++) {
      const c = chunk[i];
      if (this.inQuotes) {
        if (c === '"') {
          this.inQuotes = false;
          this.afterQuote = true;
        } else {
          if (c === '\n') this.line++;
          this.field += c;
        }
        continue;
      }
      if (this.afterQuote && c === '"') {
        // A doubled quote inside a quoted field.
        this.field += '"';
        this.inQuotes = true;
        this.afterQuote = false;
        continue;
      }
      if (c === ',') {
        this.endField();
      } else if (c === '\n') {
        this.endField();
        out.push({ fields: this.record, line: this.recordLine });
        this.record = [];
        this.line++;
        this.recordLine = this.line;
      } else if (c === '\r') {
        // Part of CRLF; a lone CR outside quotes is ignored.
      } else if (c === '"' && this.field === '' && !this.afterQuote) {
        this.inQuotes = true;
      } else if (this.afterQuote) {
        this.error = `line ${this.line}: text after a closing quote`;
      } else {
        this.field += c;
      }
    }
    return out;
  }

  /** Flushes a last record that has no line end. */
  end(): { fields: string[]; line: number }[] {
    if (this.inQuotes) this.error ??= `line ${this.recordLine}: unterminated quoted field`;
    if (this.field === '' && this.record.length === 0) return [];
    this.endField();
    const r = { fields: this.record, line: this.recordLine };
    this.record = [];
    return [r];
  }

  private endField(): void {
    this.record.push(this.field);
    this.field = '';
    this.afterQuote = false;
  }
}
