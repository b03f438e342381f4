using System.Text.Json;
using System.Text.RegularExpressions;
using TrustLaunch.Cli.Commands.Config;
using TrustLaunch.Hosting.Contracts;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace TrustLaunch.Cli.Commands.Policy;

/// <summary>
/// A YAML policy turned into its JSON twin with YamlDotNet's event parser (no reflection: the native binary stays
/// AOT-clean, as <see cref="ServeConfigFile"/>), so it is read and validated exactly as a JSON policy. Mappings become
/// objects, sequences arrays; an unquoted <c>true</c>/<c>false</c> is a boolean, an unquoted integer without leading
/// zeros a number, an unquoted <c>null</c>/<c>~</c>/nothing null, and every other scalar a string (quote hex PCR
/// values that are all digits). Anchors, aliases, tags, duplicate keys, several documents and top-level keys that are
/// not policy members are refused with the line and column.
/// </summary>
public static partial class PolicyYaml
{
    public static byte[] ToJson(string path, string yaml)
    {
        var parser = new Parser(new StringReader(yaml));
        var buffer = new MemoryStream();
        try
        {
            using var json = new Utf8JsonWriter(buffer);
            parser.Consume<StreamStart>();
            if (!parser.TryConsume<DocumentStart>(out _))
                throw Refuse(path, parser.Current, "holds no YAML document");
            if (!parser.Accept<MappingStart>(out _))
                throw Refuse(path, parser.Current, "must be a mapping of policy members");
            WriteValue(path, parser, json, topLevel: true);
            parser.Consume<DocumentEnd>();
            if (!parser.Accept<StreamEnd>(out _))
                throw Refuse(path, parser.Current, "holds more than one YAML document");
        }
        catch (YamlException e)
        {
            throw new CliUsageException($"{path}:{e.Start.Line}:{e.Start.Column}: not valid YAML: {e.Message}");
        }
        catch (InvalidOperationException e) when (e.Source == "YamlDotNet")
        {
            // YamlDotNet's scanner trips on some broken flow sequences without saying where.
            throw new CliUsageException($"{path}: not valid YAML: {e.Message}");
        }
        return buffer.ToArray();
    }

    private static void WriteValue(string path, Parser parser, Utf8JsonWriter json, bool topLevel = false)
    {
        var at = parser.Current ?? throw new CliUsageException($"{path}: ends early");
        switch (at)
        {
            case Scalar scalar:
                RefuseAnchorOrTag(path, scalar.Anchor, scalar.Tag, scalar);
                WriteScalar(scalar, json);
                parser.MoveNext();
                break;
            case SequenceStart sequence:
                RefuseAnchorOrTag(path, sequence.Anchor, sequence.Tag, sequence);
                parser.MoveNext();
                json.WriteStartArray();
                while (!parser.TryConsume<SequenceEnd>(out _))
                    WriteValue(path, parser, json);
                json.WriteEndArray();
                break;
            case MappingStart mapping:
                RefuseAnchorOrTag(path, mapping.Anchor, mapping.Tag, mapping);
                parser.MoveNext();
                WriteMapping(path, parser, json, topLevel);
                break;
            default:
                throw Refuse(path, at, "anchors, aliases and tags are not allowed");
        }
    }

    private static void WriteMapping(string path, Parser parser, Utf8JsonWriter json, bool topLevel)
    {
        json.WriteStartObject();
        var seen = new Dictionary<string, Mark>(StringComparer.Ordinal);
        while (!parser.TryConsume<MappingEnd>(out _))
        {
            if (!parser.TryConsume<Scalar>(out var key))
                throw Refuse(path, parser.Current, "keys must be plain names");
            RefuseAnchorOrTag(path, key.Anchor, key.Tag, key);
            if (seen.TryGetValue(key.Value, out var first))
                throw Refuse(path, key, $"duplicate key '{key.Value}' (first at line {first.Line})");
            seen[key.Value] = key.Start;
            if (topLevel && !PolicyMembers.Contains(key.Value))
                throw Refuse(path, key, $"'{key.Value}' is not a policy member (expected one of {string.Join(", ", PolicyMembers)})");
            json.WritePropertyName(key.Value);
            WriteValue(path, parser, json);
        }
        json.WriteEndObject();
    }

    private static void WriteScalar(Scalar scalar, Utf8JsonWriter json)
    {
        var value = scalar.Value;
        if (scalar.Style != ScalarStyle.Plain)
            json.WriteStringValue(value);
        else if (ServeConfigFile.IsNull(value))
            json.WriteNullValue();
        else if (value is "true" or "false")
            json.WriteBooleanValue(value == "true");
        else if (Integer().IsMatch(value) && long.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out var number))
            json.WriteNumberValue(number);
        else
            json.WriteStringValue(value);
    }

    /// <summary>The snake_case member names of <see cref="PolicyDocument"/>, as its JSON form spells them.</summary>
    private static readonly string[] PolicyMembers = [.. ContractsJsonContext.Default.PolicyDocument.Properties.Select(p => p.Name)];

    [GeneratedRegex("^-?(0|[1-9][0-9]*)$")]
    private static partial Regex Integer();

    private static void RefuseAnchorOrTag(string path, AnchorName anchor, TagName tag, ParsingEvent at)
    {
        if (!anchor.IsEmpty || !tag.IsEmpty)
            throw Refuse(path, at, "anchors, aliases and tags are not allowed");
    }

    private static CliUsageException Refuse(string path, ParsingEvent? at, string reason) =>
        new(at is null ? $"{path}: {reason}" : $"{path}:{at.Start.Line}:{at.Start.Column}: {reason}");

    internal static bool IsYaml(FileInfo file) => file.Extension.Equals(".yaml", StringComparison.OrdinalIgnoreCase)
        || file.Extension.Equals(".yml", StringComparison.OrdinalIgnoreCase);
}
