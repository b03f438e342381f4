using System.Globalization;
using System.Text;

namespace TrustLaunch.Oci.Golden;

/// <summary>
/// A small RFC 8785 (JCS) writer for the value types golden values use: objects, arrays, strings, integers and
/// booleans. Members are sorted by UTF-16 code units (ordinal), strings are escaped as JCS requires (only <c>"</c>,
/// <c>\</c> and control characters; short forms for \b \t \n \f \r, <c>\u00xx</c> lowercase otherwise) and written
/// as UTF-8. No floats: nothing here needs the ECMAScript number formatting JCS specifies for them.
/// </summary>
public static class CanonicalJson
{
    /// <summary>A JSON object value; members are sorted when written.</summary>
    public sealed class Object : Dictionary<string, object?>
    {
        public Object() : base(StringComparer.Ordinal) { }
    }

    public static byte[] Serialize(object? value)
    {
        var sb = new StringBuilder();
        Write(sb, value);
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    private static void Write(StringBuilder sb, object? value)
    {
        switch (value)
        {
            case null:
                sb.Append("null");
                break;
            case bool b:
                sb.Append(b ? "true" : "false");
                break;
            case string s:
                WriteString(sb, s);
                break;
            case int or long:
                sb.Append(Convert.ToInt64(value, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture));
                break;
            case Object o:
                sb.Append('{');
                var first = true;
                foreach (var key in o.Keys.Order(StringComparer.Ordinal))
                {
                    if (!first)
                        sb.Append(',');
                    first = false;
                    WriteString(sb, key);
                    sb.Append(':');
                    Write(sb, o[key]);
                }
                sb.Append('}');
                break;
            case System.Collections.IEnumerable list:
                sb.Append('[');
                var firstItem = true;
                foreach (var item in list)
                {
                    if (!firstItem)
                        sb.Append(',');
                    firstItem = false;
                    Write(sb, item);
                }
                sb.Append(']');
                break;
            default:
                throw new NotSupportedException($"canonical JSON: values of type {value.GetType().Name} are not supported");
        }
    }

    private static void WriteString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\b': sb.Append("\\b"); break;
                case '\t': sb.Append("\\t"); break;
                case '\n': sb.Append("\\n"); break;
                case '\f': sb.Append("\\f"); break;
                case '\r': sb.Append("\\r"); break;
                case < ' ': sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture)); break;
                default: sb.Append(c); break;
            }
        }
        sb.Append('"');
    }
}
