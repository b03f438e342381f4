using System.Text;

namespace TrustLaunch.Hsm;

/// <summary>Object classes a PKCS#11 URI's <c>type</c> names (RFC 7512 §2.3).</summary>
public enum HsmObjectType
{
    Public,
    Private,
    SecretKey,
    Cert,
    Data,
}

/// <summary>
/// An RFC 7512 PKCS#11 URI naming a key, e.g. <c>pkcs11:token=tl;object=golden-signer;type=private</c>. Parsing is
/// strict: unknown or repeated attributes, bad percent-encoding and unknown types are errors that say what is wrong.
/// Path attributes: token, object, type, id, manufacturer, model, serial; query attributes: module-path, pin-source.
/// </summary>
public sealed record Pkcs11Uri
{
    public const string Scheme = "pkcs11:";

    public string? Token { get; init; }
    public string? Object { get; init; }
    public HsmObjectType? Type { get; init; }
    public byte[]? Id { get; init; }
    public string? Manufacturer { get; init; }
    public string? Model { get; init; }
    public string? Serial { get; init; }
    public string? ModulePath { get; init; }
    public string? PinSource { get; init; }

    public static bool LooksLikeUri(string text) => text.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase);

    public static Pkcs11Uri Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!LooksLikeUri(text))
            throw new FormatException($"'{Redact(text)}' is not a PKCS#11 URI: it must start with '{Scheme}'");
        var rest = text[Scheme.Length..];
        var q = rest.IndexOf('?', StringComparison.Ordinal);
        var path = q < 0 ? rest : rest[..q];
        var query = q < 0 ? null : rest[(q + 1)..];
        var uri = new Pkcs11Uri();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, value) in Attributes(text, path, ';'))
        {
            if (!seen.Add(name))
                throw new FormatException($"PKCS#11 URI '{Redact(text)}': attribute '{name}' appears twice");
            uri = name switch
            {
                "token" => uri with { Token = Decode(text, name, value) },
                "object" => uri with { Object = Decode(text, name, value) },
                "manufacturer" => uri with { Manufacturer = Decode(text, name, value) },
                "model" => uri with { Model = Decode(text, name, value) },
                "serial" => uri with { Serial = Decode(text, name, value) },
                "id" => uri with { Id = DecodeBytes(text, name, value) },
                "type" => uri with { Type = ParseType(text, Decode(text, name, value)) },
                _ => throw new FormatException($"PKCS#11 URI '{Redact(text)}': unknown path attribute '{name}' (known: token, object, type, id, manufacturer, model, serial)"),
            };
        }
        if (query is not null)
        {
            foreach (var (name, value) in Attributes(text, query, '&'))
            {
                if (!seen.Add(name))
                    throw new FormatException($"PKCS#11 URI '{Redact(text)}': attribute '{name}' appears twice");
                uri = name switch
                {
                    "module-path" => uri with { ModulePath = Decode(text, name, value) },
                    "pin-source" => uri with { PinSource = Decode(text, name, value) },
                    "pin-value" => throw new FormatException($"PKCS#11 URI '{Redact(text)}': pin-value is refused (a PIN in a URI ends up in logs and shell history); use pin-source or TRUSTLAUNCH_HSM_PIN"),
                    _ => throw new FormatException($"PKCS#11 URI '{Redact(text)}': unknown query attribute '{name}' (known: module-path, pin-source)"),
                };
            }
        }
        return uri;
    }

    private static IEnumerable<(string Name, string Value)> Attributes(string text, string part, char separator)
    {
        if (part.Length == 0)
            yield break;
        foreach (var attribute in part.Split(separator))
        {
            var eq = attribute.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
                throw new FormatException($"PKCS#11 URI '{Redact(text)}': '{attribute}' is not name=value");
            yield return (attribute[..eq], attribute[(eq + 1)..]);
        }
    }

    private static HsmObjectType ParseType(string text, string value) => value switch
    {
        "public" => HsmObjectType.Public,
        "private" => HsmObjectType.Private,
        "secret-key" => HsmObjectType.SecretKey,
        "cert" => HsmObjectType.Cert,
        "data" => HsmObjectType.Data,
        _ => throw new FormatException($"PKCS#11 URI '{Redact(text)}': type '{value}' is not one of public, private, secret-key, cert, data"),
    };

    private static string Decode(string text, string name, string value)
    {
        var bytes = DecodeBytes(text, name, value);
        try
        {
            return new UTF8Encoding(false, true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw new FormatException($"PKCS#11 URI '{Redact(text)}': attribute '{name}' is not UTF-8 after percent-decoding");
        }
    }

    private static byte[] DecodeBytes(string text, string name, string value)
    {
        var bytes = new List<byte>(value.Length);
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c == '%')
            {
                if (i + 2 >= value.Length || !Uri.IsHexDigit(value[i + 1]) || !Uri.IsHexDigit(value[i + 2]))
                    throw new FormatException($"PKCS#11 URI '{Redact(text)}': attribute '{name}' has a bad percent-escape{(IsSecret(name) ? "" : $" at '{value[i..]}'")}");
                bytes.Add(Convert.ToByte(value.Substring(i + 1, 2), 16));
                i += 2;
            }
            else if (c is ';' or '?' or '&' or '#' or '/' && name is not "module-path" and not "pin-source" || c > 0x7e || c < 0x21)
            {
                throw new FormatException($"PKCS#11 URI '{Redact(text)}': attribute '{name}' contains {(IsSecret(name) ? "a character" : $"'{c}'")}, which must be percent-encoded");
            }
            else
            {
                bytes.Add((byte)c);
            }
        }
        return [.. bytes];
    }

    /// <summary>The URI, pin-source included: to hand to another program, never for a message (see <see cref="ToDisplayString"/>).</summary>
    public override string ToString() => Format(redact: false);

    /// <summary>The URI with the pin-source value replaced, fit for a message or a log.</summary>
    public string ToDisplayString() => Format(redact: true);

    private string Format(bool redact)
    {
        var parts = new List<string>();
        if (Token is not null) parts.Add($"token={Encode(Encoding.UTF8.GetBytes(Token))}");
        if (Manufacturer is not null) parts.Add($"manufacturer={Encode(Encoding.UTF8.GetBytes(Manufacturer))}");
        if (Model is not null) parts.Add($"model={Encode(Encoding.UTF8.GetBytes(Model))}");
        if (Serial is not null) parts.Add($"serial={Encode(Encoding.UTF8.GetBytes(Serial))}");
        if (Object is not null) parts.Add($"object={Encode(Encoding.UTF8.GetBytes(Object))}");
        if (Id is not null) parts.Add($"id={string.Concat(Id.Select(b => $"%{b:x2}"))}");
        if (Type is { } t) parts.Add($"type={TypeName(t)}");
        var s = Scheme + string.Join(';', parts);
        var query = new List<string>();
        if (ModulePath is not null) query.Add($"module-path={Encode(Encoding.UTF8.GetBytes(ModulePath), keepSlash: true)}");
        if (PinSource is not null) query.Add($"pin-source={(redact ? RedactedValue : Encode(Encoding.UTF8.GetBytes(PinSource), keepSlash: true))}");
        return query.Count == 0 ? s : s + "?" + string.Join('&', query);
    }

    /// <summary>
    /// URI text fit for a message: the values of pin-value and pin-source (names in any case, also percent-encoded)
    /// are replaced by <see cref="RedactedValue"/>. Works on any text, parsable or not.
    /// </summary>
    public static string Redact(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var result = new StringBuilder(text.Length);
        var start = 0;
        while (start <= text.Length)
        {
            var end = text.IndexOfAny([';', '?', '&'], start);
            if (end < 0)
                end = text.Length;
            var attribute = text[start..end];
            var prefix = attribute.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase) ? attribute[..Scheme.Length] : "";
            var eq = attribute.IndexOf('=', StringComparison.Ordinal);
            var name = eq < 0 ? "" : attribute[prefix.Length..eq];
            result.Append(eq >= 0 && EndsWithSecretName(Uri.UnescapeDataString(name)) ? attribute[..(eq + 1)] + RedactedValue : attribute);
            if (end < text.Length)
                result.Append(text[end]);
            start = end + 1;
        }
        return result.ToString();
    }

    public const string RedactedValue = "REDACTED";

    private static bool IsSecret(string name) => name is "pin-value" or "pin-source";

    // Ends with, not equals: text that is no URI at all ("x pin-value=1") must not show the value either.
    private static bool EndsWithSecretName(string name) =>
        name.EndsWith("pin-value", StringComparison.OrdinalIgnoreCase) || name.EndsWith("pin-source", StringComparison.OrdinalIgnoreCase);

    public static string TypeName(HsmObjectType type) => type switch
    {
        HsmObjectType.Public => "public",
        HsmObjectType.Private => "private",
        HsmObjectType.SecretKey => "secret-key",
        HsmObjectType.Cert => "cert",
        _ => "data",
    };

    private static string Encode(byte[] bytes, bool keepSlash = false)
    {
        var sb = new StringBuilder();
        foreach (var b in bytes)
        {
            var c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~' or ':' or '@' || keepSlash && c == '/')
                sb.Append(c);
            else
                sb.Append($"%{b:X2}");
        }
        return sb.ToString();
    }
}
