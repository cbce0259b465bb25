// Admission by the server's own configuration: what the schemas cannot know. A Workspace's
// spec.image must name an image template this server maps to a runtime image (the --image
// flags and the runtime's defaults); otherwise the apply is refused with the known names,
// instead of being accepted and failing later in the controller.
import type { StatusCause } from '../specs/index.js';
import type { Resource } from '../store/index.js';

export function imageTemplateAdmission(templates: readonly string[]): (obj: Resource, current: Resource | undefined) => StatusCause[] {
  const known = [...templates].sort();
  return (obj, current) => {
    if (obj.kind !== 'Workspace') return [];
    const image = (obj.spec as { image?: string } | undefined)?.image;
    // Only a new object, or a changed image, is checked: an old object whose template was
    // removed from the configuration can still be stopped, started or deleted.
    if (image === undefined || known.includes(image) || (current && (current.spec as { image?: string }).image === image)) return [];
    return [{
      field: 'spec.image', reason: 'FieldValueNotSupported',
      message: `Unsupported value: "${image}": supported values: ${known.map((t) => `"${t}"`).join(', ')} (image templates of this server; add one with serve --image ${image}=ALIAS)`,
    }];
  };
}
