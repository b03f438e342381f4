using System.Text.Json;
using System.Text.Json.Serialization;

namespace TrustLaunch.Hosting.Contracts;

/// <summary>How a policy judges <c>ContainerExec</c>.</summary>
public enum ExecPolicyKind
{
    /// <summary>Every command (each is still measured).</summary>
    Allow,

    /// <summary>No command.</summary>
    Deny,

    /// <summary>Only commands whose argv[0] is listed, compared exactly.</summary>
    List,
}

/// <summary>
/// A policy's <c>exec</c> member. On the wire: <c>"allow"</c>, <c>"deny"</c>, or a JSON array of the argv[0] values
/// allowed (e.g. <c>["/bin/sh", "ls"]</c>).
/// </summary>
[JsonConverter(typeof(ExecPolicyJsonConverter))]
public sealed class ExecPolicy
{
    public const string AllowName = "allow";
    public const string DenyName = "deny";

    private ExecPolicy(ExecPolicyKind kind, IReadOnlyList<string> commands)
    {
        Kind = kind;
        Commands = commands;
    }

    public static ExecPolicy Allow { get; } = new(ExecPolicyKind.Allow, []);
    public static ExecPolicy Deny { get; } = new(ExecPolicyKind.Deny, []);

    public static ExecPolicy Only(IReadOnlyList<string> commands)
    {
        ArgumentNullException.ThrowIfNull(commands);
        return new(ExecPolicyKind.List, [.. commands]);
    }

    public ExecPolicyKind Kind { get; }

    /// <summary>The allowed argv[0] values (for <see cref="ExecPolicyKind.List"/>; empty otherwise).</summary>
    public IReadOnlyList<string> Commands { get; }

    public override string ToString() => Kind switch
    {
        ExecPolicyKind.Allow => AllowName,
        ExecPolicyKind.Deny => DenyName,
        _ => string.Join(", ", Commands),
    };
}

/// <summary>Reads and writes <see cref="ExecPolicy"/> as <c>"allow"</c>, <c>"deny"</c> or an array of strings.</summary>
public sealed class ExecPolicyJsonConverter : JsonConverter<ExecPolicy>
{
    private const string Expected = "exec must be \"allow\", \"deny\" or a list of the commands (argv[0]) allowed";

    public override ExecPolicy Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            return reader.GetString() switch
            {
                ExecPolicy.AllowName => ExecPolicy.Allow,
                ExecPolicy.DenyName => ExecPolicy.Deny,
                var other => throw new JsonException($"{Expected}, not \"{other}\""),
            };
        }
        if (reader.TokenType != JsonTokenType.StartArray)
            throw new JsonException(Expected);
        var commands = new List<string>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.String)
                throw new JsonException($"{Expected}: every command is a string");
            commands.Add(reader.GetString()!);
        }
        return ExecPolicy.Only(commands);
    }

    public override void Write(Utf8JsonWriter writer, ExecPolicy value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(value);
        switch (value.Kind)
        {
            case ExecPolicyKind.Allow:
                writer.WriteStringValue(ExecPolicy.AllowName);
                break;
            case ExecPolicyKind.Deny:
                writer.WriteStringValue(ExecPolicy.DenyName);
                break;
            default:
                writer.WriteStartArray();
                foreach (var command in value.Commands)
                    writer.WriteStringValue(command);
                writer.WriteEndArray();
                break;
        }
    }
}
