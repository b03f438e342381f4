using System.Text.Json.Serialization;

namespace TrustLaunch.Agent.Runtime;

/// <summary>
/// The OCI runtime's <c>state</c> output: <c>status</c> is <c>creating</c>, <c>created</c>, <c>running</c> or
/// <c>stopped</c>; <c>pid</c> is 0 once stopped.
/// </summary>
public sealed record ContainerState(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("pid")] int Pid,
    [property: JsonPropertyName("bundle")] string Bundle);

[JsonSourceGenerationOptions(RespectNullableAnnotations = true, RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(ContainerState))]
[JsonSerializable(typeof(string))]
internal sealed partial class RuntimeJsonContext : JsonSerializerContext;
