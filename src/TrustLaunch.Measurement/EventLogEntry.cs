using System.Text.Json.Serialization;

namespace TrustLaunch.Measurement;

/// <summary>One line of an event log segment file: a record written before its extend, or the commit marker after.</summary>
internal sealed record EventLogEntry(
    [property: JsonPropertyName("record"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] CelRecord? Record = null,
    [property: JsonPropertyName("commit"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? Commit = null);

/// <summary>Read strictly: a record with a null or missing member is corruption, not a record.</summary>
[JsonSourceGenerationOptions(RespectNullableAnnotations = true, RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(EventLogEntry))]
internal sealed partial class EventLogJsonContext : JsonSerializerContext;
