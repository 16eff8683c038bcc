/* cli.h - the command line's core commands (tokens, generate, trace, dump, info) and its dispatcher.
 * The program's main() passes extra commands (the viewer's) so that one binary offers them all. */
#ifndef GPTSTEP_CLI_H
#define GPTSTEP_CLI_H

typedef struct {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the command's name; returns the exit status */
} CliCommand;

/* Every command's getopt_long() starts its option string with ':' (after a '+'), so that a missing value
 * is told apart from an unknown option; on either, the command calls this: one line naming the option,
 * exit status 2. (cli_main turns getopt's own messages off.) */
int cli_bad_option(const char *cmd, int c, char **argv);

/* A repeatable option's value added to list (n of at most max); past max, one line naming the option
 * and the limit, and 2 (the same limit means the same in every command). */
int cli_collect(const char *cmd, const char *option, const char *noun, const char **list, int *n, int max, const char *value);

/* Runs `gptstep ARGS`: extra is a {NULL}-terminated list of further commands (may be NULL). */
int cli_main(int argc, char **argv, const CliCommand *extra);

#endif
