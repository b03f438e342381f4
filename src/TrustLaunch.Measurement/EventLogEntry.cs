using System.Text.Json.Serialization;

namespace TrustLaunch.Measurement;

/// <summary>One line of an event log segment file: a record written before its extend, or the commit marker after.</summary>
internal sealed record EventLogEntry(
    [property: JsonPropertyName("record"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] CelRecord? Record,
    [property: JsonPropertyName("commit"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? Commit);

[JsonSerializable(typeof(EventLogEntry))]
internal sealed partial class EventLogJsonContext : JsonSerializerContext;
