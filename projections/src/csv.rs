//! CSV encoding (RFC 4180) shared by the audit export and the reports: fields quoted only when
//! they must be, rows ended by CRLF.

/// Writes one field, quoted when it holds a separator, a quote or a line break.
pub fn field(field: &str, out: &mut Vec<u8>) {
    if field.contains([',', '"', '\n', '\r']) {
        out.push(b'"');
        out.extend_from_slice(field.replace('"', "\"\"").as_bytes());
        out.push(b'"');
    } else {
        out.extend_from_slice(field.as_bytes());
    }
}

/// Writes one row of fields and its line end.
pub fn row<S: AsRef<str>>(fields: &[S], out: &mut Vec<u8>) {
    for (i, value) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        field(value.as_ref(), out);
    }
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::{field, row};

    #[test]
    fn csv_fields_with_separators_are_quoted() {
        let mut out = Vec::new();
        field(r#"{"a":1,"b":"x"}"#, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#""{""a"":1,""b"":""x""}""#
        );
        let mut plain = Vec::new();
        field("tenant.renamed", &mut plain);
        assert_eq!(plain, b"tenant.renamed");
        let mut line = Vec::new();
        row(&["a", "b,c", ""], &mut line);
        assert_eq!(line, b"a,\"b,c\",\r\n");
    }
}
