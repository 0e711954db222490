import { CheckboxField, errorFor, type FieldErrors } from '../../components/form-fields.tsx';

/** The providers a client may call: every provider, or the ones checked; shared by create and edit. */
export function AllowedProvidersFieldset(props: {
  slugs: string[];
  all: boolean;
  onAllChange: (all: boolean) => void;
  allowed: string[];
  onAllowedChange: (allowed: string[]) => void;
  errors: FieldErrors;
}) {
  const { slugs, all, allowed, onAllowedChange, errors } = props;
  const error = errorFor(errors, 'allowedProviders');
  return (
    <fieldset className="fieldset">
      <legend>Allowed providers</legend>
      <CheckboxField
        name="allProviders"
        label="Every provider, including ones added later"
        checked={all}
        onChange={props.onAllChange}
      />
      {!all ? (
        <div className="provider-checks">
          {slugs.map((slug) => (
            <CheckboxField
              key={slug}
              name={`allow-${slug}`}
              label={slug}
              checked={allowed.includes(slug)}
              onChange={(on) => onAllowedChange(on ? [...allowed, slug] : allowed.filter((s) => s !== slug))}
            />
          ))}
        </div>
      ) : null}
      {error ? (
        <p className="field-error" data-field-error>
          {error}
        </p>
      ) : null}
    </fieldset>
  );
}
