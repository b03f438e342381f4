using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace TrustLaunch.Jose;

/// <summary>
/// The house RFC 8785 (JCS) writer. Members are sorted by UTF-16 code units (ordinal), strings are escaped as JCS
/// requires (only <c>"</c>, <c>\</c> and control characters; short forms for \b \t \n \f \r, <c>\u00xx</c> lowercase
/// otherwise) and written as UTF-8; numbers are written as ECMAScript's <c>Number.prototype.toString</c> does
/// (<see cref="FormatNumber"/>). Input outside I-JSON is refused rather than silently changed: duplicate member
/// names, lone surrogates, NaN/Infinity, and integer literals beyond ±2^53 (a double cannot hold them, so JCS would
/// rewrite the value).
/// </summary>
public static class CanonicalJson
{
    /// <summary>The largest integer a double holds exactly (2^53): beyond it an integer literal would change.</summary>
    private const long MaxExactInteger = 1L << 53;

    /// <summary>What a JCS string cannot copy verbatim: <c>"</c>, <c>\</c>, control characters, and surrogates (checked for pairing).</summary>
    private static readonly SearchValues<char> Special = SearchValues.Create(
        "\"\\" + string.Concat(Enumerable.Range(0, 0x20).Select(c => (char)c)) + string.Concat(Enumerable.Range(0xD800, 0x800).Select(c => (char)c)));

    /// <summary>A JSON object value; members are sorted when written.</summary>
    public sealed class Object : Dictionary<string, object?>
    {
        public Object() : base(StringComparer.Ordinal) { }
    }

    /// <summary>Canonicalises a value made of <see cref="Object"/>, lists, strings, integers, doubles, booleans and null.</summary>
    public static byte[] Serialize(object? value)
    {
        var sb = new StringBuilder();
        Write(sb, value);
        return Encode(sb);
    }

    /// <summary>Canonicalises parsed JSON.</summary>
    /// <exception cref="FormatException">The value is not I-JSON (see the type's summary), naming what and where.</exception>
    public static byte[] Serialize(JsonElement element) => Encode(ToStringBuilder(element));

    /// <summary>Canonicalises parsed JSON into a string (what event lines carry).</summary>
    public static string SerializeToString(JsonElement element) => ToStringBuilder(element).ToString();

    /// <summary>Serializes a typed value with its source-generated contract, then canonicalises it.</summary>
    public static byte[] Serialize<T>(T value, JsonTypeInfo<T> typeInfo) =>
        Serialize(JsonSerializer.SerializeToElement(value, typeInfo));

    /// <summary>
    /// ECMAScript <c>Number.prototype.toString</c> for a finite double (RFC 8785 section 3.2.2.3): the shortest digits
    /// that round-trip, plain notation for exponents in [-6, 21), otherwise <c>d.ddde±n</c>; -0 is <c>0</c>.
    /// </summary>
    public static string FormatNumber(double value)
    {
        if (!double.IsFinite(value))
            throw new FormatException($"canonical JSON: {value.ToString(CultureInfo.InvariantCulture)} is not a JSON number");
        if (value == 0)
            return "0";
        // .NET's "R" gives the shortest round-trip digits; re-lay them out the ECMAScript way.
        var r = Math.Abs(value).ToString("R", CultureInfo.InvariantCulture);
        var e = r.IndexOf('E');
        var exponent = e < 0 ? 0 : int.Parse(r.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        var mantissa = e < 0 ? r : r[..e];
        var point = mantissa.IndexOf('.');
        var fraction = point < 0 ? "" : mantissa[(point + 1)..];
        var all = (point < 0 ? mantissa : mantissa[..point]) + fraction;
        // value = ALL × 10^(exponent - fraction length) = 0.DIGITS × 10^n
        var digits = all.TrimStart('0');
        var n = digits.Length + exponent - fraction.Length;
        digits = digits.TrimEnd('0');
        var k = digits.Length;
        var sb = new StringBuilder();
        if (value < 0)
            sb.Append('-');
        if (k <= n && n <= 21)
            sb.Append(digits).Append('0', n - k);
        else if (0 < n && n <= 21)
            sb.Append(digits, 0, n).Append('.').Append(digits, n, k - n);
        else if (-6 < n && n <= 0)
            sb.Append("0.").Append('0', -n).Append(digits);
        else
        {
            sb.Append(digits[0]);
            if (k > 1)
                sb.Append('.').Append(digits, 1, k - 1);
            sb.Append('e').Append(n - 1 >= 0 ? "+" : "-").Append(Math.Abs(n - 1).ToString(CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    private static StringBuilder ToStringBuilder(JsonElement element)
    {
        var sb = new StringBuilder();
        Write(sb, element, new JsonPath());
        return sb;
    }

    private static byte[] Encode(StringBuilder sb) => Encoding.UTF8.GetBytes(sb.ToString());

    private static void Write(StringBuilder sb, JsonElement element, JsonPath path)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Null:
                sb.Append("null");
                break;
            case JsonValueKind.True:
                sb.Append("true");
                break;
            case JsonValueKind.False:
                sb.Append("false");
                break;
            case JsonValueKind.String:
                WriteString(sb, element.GetString()!);
                break;
            case JsonValueKind.Number:
                sb.Append(FormatJsonNumber(element, path));
                break;
            case JsonValueKind.Array:
                sb.Append('[');
                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    if (index > 0)
                        sb.Append(',');
                    path.Push(index++);
                    Write(sb, item, path);
                    path.Pop();
                }
                sb.Append(']');
                break;
            case JsonValueKind.Object:
                var members = new List<JsonProperty>();
                foreach (var member in element.EnumerateObject())
                    members.Add(member);
                members.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
                sb.Append('{');
                for (var i = 0; i < members.Count; i++)
                {
                    if (i > 0)
                    {
                        if (members[i].Name == members[i - 1].Name)
                            throw new FormatException($"canonical JSON: member '{members[i].Name}' appears twice in {path}");
                        sb.Append(',');
                    }
                    WriteString(sb, members[i].Name);
                    sb.Append(':');
                    path.Push(members[i].Name);
                    Write(sb, members[i].Value, path);
                    path.Pop();
                }
                sb.Append('}');
                break;
            default:
                throw new FormatException($"canonical JSON: {path} has no value");
        }
    }

    private static string FormatJsonNumber(JsonElement number, JsonPath path)
    {
        if (number.TryGetInt64(out var integer))
        {
            if (integer is > MaxExactInteger or < -MaxExactInteger)
                throw new FormatException($"canonical JSON: the integer {integer} at {path} is beyond ±2^53 and would not survive as a JSON number");
            return integer.ToString(CultureInfo.InvariantCulture);
        }
        var raw = number.GetRawText();
        if (!raw.Contains('.') && !raw.Contains('e') && !raw.Contains('E'))
            throw new FormatException($"canonical JSON: the integer {raw} at {path} is beyond ±2^53 and would not survive as a JSON number");
        if (!number.TryGetDouble(out var value) || !double.IsFinite(value))
            throw new FormatException($"canonical JSON: the number {raw} at {path} is out of the double range");
        return FormatNumber(value);
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
            case double d:
                sb.Append(FormatNumber(d));
                break;
            case JsonElement element:
                Write(sb, element, new JsonPath());
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
        var rest = s.AsSpan();
        for (var i = rest.IndexOfAny(Special); i >= 0; i = rest.IndexOfAny(Special))
        {
            sb.Append(rest[..i]);
            var c = rest[i];
            var length = 1;
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
                default:
                    if (!char.IsHighSurrogate(c) || i + 1 == rest.Length || !char.IsLowSurrogate(rest[i + 1]))
                        throw new FormatException($"canonical JSON: a string holds a lone surrogate (U+{(int)c:X4})");
                    sb.Append(rest.Slice(i, 2));
                    length = 2;
                    break;
            }
            rest = rest[(i + length)..];
        }
        sb.Append(rest).Append('"');
    }

    /// <summary>Where the writer is, as <c>$.a[1]</c>, built only for an error message.</summary>
    private sealed class JsonPath
    {
        private readonly List<(string? Member, int Index)> _segments = [];

        public void Push(string member) => _segments.Add((member, 0));
        public void Push(int index) => _segments.Add((null, index));
        public void Pop() => _segments.RemoveAt(_segments.Count - 1);

        public override string ToString() =>
            "$" + string.Concat(_segments.Select(s => s.Member is null ? $"[{s.Index}]" : $".{s.Member}"));
    }
}
