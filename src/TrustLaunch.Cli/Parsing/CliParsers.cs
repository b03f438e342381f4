using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using TrustLaunch.Tpm;

namespace TrustLaunch.Cli.Parsing;

/// <summary>Typed options and arguments for handles, hex strings and key types, with one-line error messages.</summary>
public static partial class CliParsers
{
    /// <summary>A positive duration under 100 years, <c>N</c> followed by a unit: <c>30s</c>, <c>15m</c>, <c>12h</c>, <c>90d</c>.</summary>
    public static bool TryParseDuration(string text, out TimeSpan duration)
    {
        duration = default;
        var match = DurationPattern().Match(text);
        if (!match.Success)
            return false;
        var n = long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        var unit = match.Groups[2].Value switch { "s" => 1L, "m" => 60L, "h" => 3600L, _ => 86400L };
        if (n <= 0 || n > 100L * 365 * 86400 / unit)
            return false;
        duration = TimeSpan.FromSeconds(n * unit);
        return true;
    }

    /// <summary>Whether <paramref name="text"/> has the form of a duration, whatever its value.</summary>
    public static bool LooksLikeDuration(string text) => DurationPattern().IsMatch(text);

    /// <summary>A handle in hex (<c>0x81010002</c>) or decimal.</summary>
    public static bool TryParseHandle(string text, out uint handle) =>
        text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? uint.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out handle) && text.Length > 2
            : uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out handle);

    public static string FormatHandle(uint handle) => $"0x{handle:x8}";

    /// <summary>Even-length hex, either case, no separators.</summary>
    public static byte[] ParseHex(string text, string what)
    {
        if (text.Length % 2 != 0)
            throw new FormatException($"{what} '{text}' has an odd number of hex digits");
        try
        {
            return Convert.FromHexString(text);
        }
        catch (FormatException)
        {
            throw new FormatException($"{what} '{text}' is not hexadecimal");
        }
    }

    public static string Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(bytes);

    public static Option<uint> HandleOption(string name, string description, uint? defaultValue = null)
    {
        var option = new Option<uint>(name) { Description = description, HelpName = "HANDLE", CustomParser = ParseHandleResult };
        if (defaultValue is { } d)
            option.DefaultValueFactory = _ => d;
        else
            option.Required = true;
        return option;
    }

    public static Argument<uint> HandleArgument(string name, string description) =>
        new(name) { Description = description, HelpName = "HANDLE", CustomParser = ParseHandleResult };

    /// <summary>An option taking hex bytes, e.g. a nonce; at most <paramref name="maxBytes"/>.</summary>
    public static Option<byte[]> HexOption(string name, string what, string description, int maxBytes) => new(name)
    {
        Description = description,
        HelpName = "HEX",
        Required = true,
        CustomParser = result =>
        {
            var text = result.Tokens[0].Value;
            try
            {
                var bytes = ParseHex(text, what);
                if (bytes.Length <= maxBytes)
                    return bytes;
                result.AddError($"{what} is {bytes.Length} bytes; at most {maxBytes} are allowed");
            }
            catch (FormatException e)
            {
                result.AddError(e.Message);
            }
            return [];
        },
    };

    /// <summary><c>--NAME rsa|ecc</c>.</summary>
    public static Option<TpmAlgId> KeyTypeOption(string name, TpmAlgId defaultValue, string description)
    {
        var option = new Option<TpmAlgId>(name)
        {
            Description = $"{description} (rsa or ecc, default {KeyTypeName(defaultValue)})",
            HelpName = "rsa|ecc",
            DefaultValueFactory = _ => defaultValue,
            CustomParser = result =>
            {
                var text = result.Tokens[0].Value;
                switch (text.ToLowerInvariant())
                {
                    case "rsa":
                        return TpmAlgId.Rsa;
                    case "ecc":
                        return TpmAlgId.Ecc;
                    default:
                        result.AddError($"{name} must be rsa or ecc, not '{text}'");
                        return defaultValue;
                }
            },
        };
        return option;
    }

    public static string KeyTypeName(TpmAlgId type) => type == TpmAlgId.Rsa ? "rsa" : "ecc";

    private static uint ParseHandleResult(ArgumentResult result)
    {
        var text = result.Tokens[0].Value;
        if (TryParseHandle(text, out var handle))
            return handle;
        result.AddError($"'{text}' is not a handle: write it in hex (0x81010002) or decimal");
        return 0;
    }

    [System.Text.RegularExpressions.GeneratedRegex("^([0-9]{1,12})([smhd])$")]
    private static partial System.Text.RegularExpressions.Regex DurationPattern();
}
