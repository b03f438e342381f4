using System.CommandLine;
using System.Globalization;
using TrustLaunch.Hosting.Storage;

namespace TrustLaunch.Cli.Commands.Config;

/// <summary>
/// What a file or environment value must be for its option: true/false for switches, integers and numbers, lists
/// (YAML sequences) for repeatable options, and never a secret inline: PINs, passwords and keys are named by file
/// (<c>pin-source=FILE</c> in pkcs11: URIs, <c>store-password-file</c>, key files).
/// </summary>
public static class ServeSettingRules
{
    public const string Redacted = "<redacted>";

    private static readonly string[] SecretWords = ["pin", "password", "passphrase", "secret", "token", "credential"];

    public enum ValueKind
    {
        Text,
        Boolean,
        Integer,
        Number,
        List,
    }

    public static ValueKind KindOf(Option option)
    {
        ArgumentNullException.ThrowIfNull(option);
        var type = Nullable.GetUnderlyingType(option.ValueType) ?? option.ValueType;
        if (type == typeof(bool))
            return ValueKind.Boolean;
        if (type == typeof(int))
            return ValueKind.Integer;
        if (type == typeof(double))
            return ValueKind.Number;
        return type.IsArray ? ValueKind.List : ValueKind.Text;
    }

    /// <summary>Why a key the role does not have is refused; a secret-sounding one says how secrets are given instead.</summary>
    public static string UnknownKey(string key, string role) =>
        SecretWords.Any(w => key.Contains(w, StringComparison.OrdinalIgnoreCase)) && !key.EndsWith("-file", StringComparison.Ordinal)
            ? $"key '{key}' would carry a secret inline: secrets are given by file reference only (pkcs11: URIs with pin-source=FILE, store-password-file)"
            : $"unknown key '{key}' for serve {role}";

    public static void CheckFile(string path, FileSetting setting, Option option)
    {
        ArgumentNullException.ThrowIfNull(setting);
        var kind = KindOf(option);
        if ((kind == ValueKind.List) != setting.IsSequence)
        {
            throw ServeConfigFile.Refuse(path, setting.Line, kind == ValueKind.List
                ? $"key '{setting.Key}' must be a list (a YAML sequence)"
                : $"key '{setting.Key}' takes one value, not a list");
        }
        if ((kind is ValueKind.Boolean or ValueKind.Integer or ValueKind.Number) && !(setting.Plain && IsValid(kind, setting.Values[0])))
            throw ServeConfigFile.Refuse(path, setting.Line, $"key '{setting.Key}' must be {Expected(kind)}, not '{Shown(setting.Key, setting.Values[0])}'");
        foreach (var value in setting.Values)
        {
            if (InlineSecret(setting.Key, value) is { } reason)
                throw ServeConfigFile.Refuse(path, setting.Line, $"key '{setting.Key}' {reason}");
        }
    }

    /// <summary>The values of <paramref name="variable"/> (a list comma-separated), refused like a file's.</summary>
    public static IReadOnlyList<string> CheckEnvironment(string variable, string key, string text, Option option)
    {
        var kind = KindOf(option);
        string[] values = kind == ValueKind.List ? text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) : [text];
        if (values.Length == 0 || (kind != ValueKind.List && text.Length == 0))
            throw new CliUsageException($"{variable}: key '{key}' has no value");
        if ((kind is ValueKind.Boolean or ValueKind.Integer or ValueKind.Number) && !IsValid(kind, text))
            throw new CliUsageException($"{variable}: key '{key}' must be {Expected(kind)}, not '{Shown(key, text)}'");
        foreach (var value in values)
        {
            if (InlineSecret(key, value) is { } reason)
                throw new CliUsageException($"{variable}: key '{key}' {reason}");
        }
        return values;
    }

    /// <summary>Why <paramref name="value"/> of <paramref name="key"/> carries a secret itself, or null.</summary>
    public static string? InlineSecret(string key, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Contains("pin-value", StringComparison.OrdinalIgnoreCase))
            return "carries a PIN inline (pin-value): name a file with pin-source=FILE";
        if (value.Contains("-----BEGIN", StringComparison.Ordinal))
            return "carries key material inline: name a PEM file";
        if (key == "store" && HasPassword(value))
            return "carries the PostgreSQL password inline: give it by file reference (store-password-file)";
        return null;
    }

    /// <summary>A value as it may be shown: <see cref="Redacted"/> when it carries a secret.</summary>
    public static string Shown(string key, string value) => InlineSecret(key, value) is null ? value : Redacted;

    private static bool HasPassword(string value)
    {
        try
        {
            return StoreLocation.Parse(value).Postgres?.Password is { Length: > 0 };
        }
        catch (FormatException)
        {
            // Not a store the service would open; say nothing of it here, the service refuses it without echoing it.
            return value.Contains("password", StringComparison.OrdinalIgnoreCase) || value.Contains('@', StringComparison.Ordinal);
        }
    }

    private static bool IsValid(ValueKind kind, string value) => kind switch
    {
        ValueKind.Boolean => value is "true" or "false",
        ValueKind.Integer => int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _),
        ValueKind.Number => double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d),
        _ => true,
    };

    private static string Expected(ValueKind kind) => kind switch
    {
        ValueKind.Boolean => "true or false",
        ValueKind.Integer => "an integer",
        _ => "a number",
    };
}
