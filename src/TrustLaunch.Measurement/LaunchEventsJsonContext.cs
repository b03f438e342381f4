using System.Text.Json.Serialization;

namespace TrustLaunch.Measurement;

/// <summary>
/// Source-generated contracts of the launch event contents (read them back with these too: strictly, a null or
/// missing required member is refused).
/// </summary>
[JsonSourceGenerationOptions(RespectNullableAnnotations = true, RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(ImagePulledEvent))]
[JsonSerializable(typeof(ImageVerifiedEvent))]
[JsonSerializable(typeof(ImageRejectedEvent))]
[JsonSerializable(typeof(ContainerCreatedEvent))]
[JsonSerializable(typeof(ContainerEvent))]
[JsonSerializable(typeof(ContainerStoppedEvent))]
[JsonSerializable(typeof(ContainerExecEvent))]
[JsonSerializable(typeof(PodSandboxCreatedEvent))]
[JsonSerializable(typeof(PodSandboxEvent))]
[JsonSerializable(typeof(KeyReleasedEvent))]
[JsonSerializable(typeof(SecretReleasedEvent))]
[JsonSerializable(typeof(WorkloadEventEvent))]
public sealed partial class LaunchEventsJsonContext : JsonSerializerContext;
