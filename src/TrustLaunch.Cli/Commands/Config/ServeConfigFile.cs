using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace TrustLaunch.Cli.Commands.Config;

/// <summary>One <c>key: value</c> of a configuration file: a scalar, or a sequence of scalars for repeatable options.</summary>
/// <param name="Plain">The scalar was written unquoted (so <c>true</c>, <c>12</c> are a boolean and a number).</param>
public sealed record FileSetting(string Key, int Line, IReadOnlyList<string> Values, bool IsSequence, bool Plain);

/// <summary>
/// A <c>ROLE.yaml</c> read with YamlDotNet's event parser (no reflection, so the native binary stays AOT-clean): one
/// mapping of keys to scalars or sequences of scalars. Anything else (nested mappings, anchors and aliases, tags,
/// null values, several documents, duplicate keys) is refused naming the file and line.
/// </summary>
public static class ServeConfigFile
{
    public static IReadOnlyList<FileSetting> Read(string path)
    {
        string text;
        try
        {
            // Like sshd's StrictModes: whoever may rewrite the file may choose the data dir, the CA and the listeners.
            if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & (UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0)
                throw new CliUsageException($"{path}: writable by group or others (chmod go-w): it decides what the service trusts");
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliUsageException($"{path}: {e.Message}");
        }
        return Parse(path, text);
    }

    public static IReadOnlyList<FileSetting> Parse(string path, string yaml)
    {
        var parser = new Parser(new StringReader(yaml));
        try
        {
            return ParseStream(path, parser);
        }
        catch (YamlException e)
        {
            throw Refuse(path, (int)e.Start.Line, $"not valid YAML: {e.Message}");
        }
    }

    private static List<FileSetting> ParseStream(string path, Parser parser)
    {
        var settings = new List<FileSetting>();
        parser.Consume<StreamStart>();
        if (parser.TryConsume<StreamEnd>(out _))
            return settings;
        parser.Consume<DocumentStart>();
        if (parser.Accept<Scalar>(out var empty) && empty.Value.Length == 0 && empty.Style == ScalarStyle.Plain)
            parser.MoveNext();
        else
            ParseMapping(path, parser, settings);
        parser.Consume<DocumentEnd>();
        if (!parser.Accept<StreamEnd>(out _))
            throw Refuse(path, Line(parser.Current), "holds more than one YAML document");
        return settings;
    }

    private static void ParseMapping(string path, Parser parser, List<FileSetting> settings)
    {
        var start = Expect<MappingStart>(path, parser, "must be a mapping of keys to values");
        RefuseAnchorOrTag(path, start.Anchor, start.Tag, start);
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        while (!parser.TryConsume<MappingEnd>(out _))
        {
            var key = Expect<Scalar>(path, parser, "keys must be plain names");
            RefuseAnchorOrTag(path, key.Anchor, key.Tag, key);
            var line = Line(key);
            if (seen.TryGetValue(key.Value, out var first))
                throw Refuse(path, line, $"duplicate key '{key.Value}' (first at line {first})");
            seen[key.Value] = line;
            settings.Add(ParseValue(path, parser, key.Value, line));
        }
    }

    private static FileSetting ParseValue(string path, Parser parser, string key, int line)
    {
        if (parser.TryConsume<Scalar>(out var scalar))
        {
            RefuseAnchorOrTag(path, scalar.Anchor, scalar.Tag, scalar);
            if (scalar.Style == ScalarStyle.Plain && IsNull(scalar.Value))
                throw Refuse(path, line, $"key '{key}' has no value");
            return new FileSetting(key, line, [scalar.Value], IsSequence: false, scalar.Style == ScalarStyle.Plain);
        }
        if (parser.TryConsume<SequenceStart>(out var sequence))
        {
            RefuseAnchorOrTag(path, sequence.Anchor, sequence.Tag, sequence);
            var values = new List<string>();
            while (!parser.TryConsume<SequenceEnd>(out _))
            {
                var item = Expect<Scalar>(path, parser, $"key '{key}' must be a list of values, not of lists or mappings");
                RefuseAnchorOrTag(path, item.Anchor, item.Tag, item);
                if (item.Style == ScalarStyle.Plain && IsNull(item.Value))
                    throw Refuse(path, Line(item), $"key '{key}' has an empty list item");
                values.Add(item.Value);
            }
            return new FileSetting(key, line, values, IsSequence: true, Plain: false);
        }
        throw Refuse(path, Line(parser.Current), $"key '{key}' must be a value or a list of values, not a mapping or an alias");
    }

    private static T Expect<T>(string path, Parser parser, string reason) where T : ParsingEvent =>
        parser.TryConsume<T>(out var value) ? value : throw Refuse(path, Line(parser.Current), reason);

    private static void RefuseAnchorOrTag(string path, AnchorName anchor, TagName tag, ParsingEvent at)
    {
        if (!anchor.IsEmpty || !tag.IsEmpty)
            throw Refuse(path, Line(at), "anchors, aliases and tags are not allowed");
    }

    internal static bool IsNull(string value) => value is "" or "~" or "null" or "Null" or "NULL";

    private static int Line(ParsingEvent? at) => at is null ? 0 : (int)at.Start.Line;

    public static CliUsageException Refuse(string path, int line, string reason) => new($"{path}:{line}: {reason}");
}
