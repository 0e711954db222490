import SchemaBuilder, { BasePlugin, type PothosOutputFieldConfig, type SchemaTypes } from '@pothos/core';
import type { GraphQLFieldResolver } from 'graphql';
import { checkText } from '../shared/validation.ts';

/**
 * GraphQL strings are UTF-16 and may hold NUL or half of a surrogate pair; PostgreSQL text can
 * hold neither, and a value that reaches it fails as a driver error ("Unexpected error.", or a
 * connection-level message that reads as "the database is unavailable"). Every argument of every
 * field is checked here, before its resolver runs, and refused as a ValidationError naming the
 * argument: mutations list it in their result union (this plugin runs inside the errors plugin),
 * queries and subscriptions get it as an error with code VALIDATION_FAILED.
 */
export class TextInputPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override wrapResolve(
    resolver: GraphQLFieldResolver<unknown, Types['Context'], object>,
    fieldConfig: PothosOutputFieldConfig<Types>,
  ): GraphQLFieldResolver<unknown, Types['Context'], object> {
    if (Object.keys(fieldConfig.args).length === 0) return resolver;
    return (parent, args, context, info) => {
      checkText(args);
      return resolver(parent, args, context, info);
    };
  }

  override wrapSubscribe(
    subscribe: GraphQLFieldResolver<unknown, Types['Context'], object> | undefined,
    fieldConfig: PothosOutputFieldConfig<Types>,
  ): GraphQLFieldResolver<unknown, Types['Context'], object> | undefined {
    if (!subscribe || Object.keys(fieldConfig.args).length === 0) return subscribe;
    return (parent, args, context, info) => {
      checkText(args);
      return subscribe(parent, args, context, info);
    };
  }
}

declare global {
  export namespace PothosSchemaTypes {
    export interface Plugins<Types extends SchemaTypes> {
      textInput: TextInputPlugin<Types>;
    }
  }
}

const pluginName = 'textInput' as const;
SchemaBuilder.registerPlugin(pluginName, TextInputPlugin);
export default pluginName;
