/* optgen.c - gpuctl-optgen, run at build time: writes what is derived from
 * the option tables (cli/opts.h) besides --help: the man page's option
 * reference, the bash and zsh completions, and the list of every spelling
 * the tests check those against.
 *
 *   gpuctl-optgen man TEMPLATE   the man page with the block between the
 *                                GENERATED OPTIONS markers rewritten
 *   gpuctl-optgen bash           bash completion for gpuctl
 *   gpuctl-optgen zsh            zsh completion (_gpuctl)
 *   gpuctl-optgen spellings      "COMMAND<TAB>SPELLING" for every option
 *
 * It links only the tables and core/options.c, never the commands, so the
 * build can run it before gpuctl itself is linked.  Output goes to stdout;
 * errors to stderr with exit 1 (this is a build tool, not a front end).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/opts.h"

#define MAN_BEGIN ".\\\" BEGIN GENERATED OPTIONS"
#define MAN_END ".\\\" END GENERATED OPTIONS"

/* Every spelling of s in turn: "--name", "-short", then each alias. */
static size_t spellings(const struct options_spec *s, char out[][96], size_t max)
{
    size_t n = 0;
    snprintf(out[n++], 96, "--%s", s->name);
    if (s->short_name && n < max)
        snprintf(out[n++], 96, "-%s", s->short_name);
    for (const char *a = s->aliases; a && *a && n < max;) {
        a += strspn(a, " ");
        size_t len = strcspn(a, " ");
        if (len)
            snprintf(out[n++], 96, "%.*s", (int)len, a);
        a += len;
    }
    return n;
}

#define MAX_SPELLINGS 8

/* ---- spellings ------------------------------------------------------------------- */

static void write_spellings(FILE *out)
{
    for (size_t t = 0; cli_option_tables[t]; t++) {
        const struct options_command *c = cli_option_tables[t];
        for (size_t i = 0; i < c->count; i++) {
            char sp[MAX_SPELLINGS][96];
            size_t n = spellings(&c->specs[i], sp, MAX_SPELLINGS);
            for (size_t k = 0; k < n; k++)
                fprintf(out, "%s\t%s\n", c->name, sp[k]);
        }
    }
}

/* ---- man page ---------------------------------------------------------------------- */

/* roff text: backslashes doubled, dashes as \- , a leading dot or quote
 * protected. */
static void roff(FILE *out, const char *text)
{
    if (*text == '.' || *text == '\'')
        fputs("\\&", out);
    for (const char *c = text; *c; c++) {
        if (*c == '\\')
            fputs("\\e", out);
        else if (*c == '-')
            fputs("\\-", out);
        else if (*c == '\n')
            fputc(' ', out);
        else
            fputc(*c, out);
    }
}

static void man_spec(FILE *out, const struct options_spec *s)
{
    char sp[MAX_SPELLINGS][96];
    size_t n = spellings(s, sp, MAX_SPELLINGS);
    fputs(".TP\n", out);
    /* short name first, as in --help */
    size_t order[MAX_SPELLINGS], k = 0;
    if (s->short_name)
        order[k++] = 1;
    order[k++] = 0;
    for (size_t i = s->short_name ? 2 : 1; i < n; i++)
        order[k++] = i;
    for (size_t i = 0; i < k; i++) {
        fputs(i ? ", \\fB" : "\\fB", out);
        roff(out, sp[order[i]]);
        fputs("\\fR", out);
    }
    if (s->type != OPTIONS_FLAG) {
        char value[128];
        options_format_value(s, value, sizeof value);
        fputs(" \\fI", out);
        roff(out, value);
        fputs("\\fR", out);
    }
    fputc('\n', out);
    /* the help sentence, capitalised as a man page's prose is */
    char help[512];
    snprintf(help, sizeof help, "%s", s->help ? s->help : "");
    if (help[0] >= 'a' && help[0] <= 'z')
        help[0] = (char)(help[0] - 'a' + 'A');
    roff(out, help);
    fputs(".", out);
    if (s->choices) {
        fputs("  Values: ", out);
        for (const char *c = s->choices; *c; c++) {
            if (*c == '|')
                fputs(", ", out);
            else
                fputc(*c, out);            /* choice words hold no roff specials */
        }
        fputs(".", out);
    }
    for (const char *v = s->env; v && *v;) {
        size_t len = strcspn(v, " ");
        fputs(v == s->env ? "  Environment: " : " or ", out);
        fprintf(out, "%.*s", (int)len, v);    /* variable names hold no roff specials */
        v += len;
        v += strspn(v, " ");
        if (!*v)
            fputs(".", out);
    }
    if (s->config_key) {
        fputs("  Configuration: ", out);
        roff(out, s->config_key);
        fputs(".", out);
    }
    fputc('\n', out);
}

static void man_block(FILE *out)
{
    fputs(MAN_BEGIN " (gpuctl-optgen man: edit the tables in src/cli/*_opts.c)\n", out);
    fputs(".SH OPTION REFERENCE\n"
          "Every option of the commands below, with each of its spellings (those of\n"
          "gpu\\-kill and nvitop included), its value, environment variable and\n"
          "configuration key.  Every option also takes its value as\n"
          "\\fB\\-\\-name=\\fR\\fIvalue\\fR.\n", out);
    for (size_t t = 0; cli_option_tables[t]; t++) {
        const struct options_command *c = cli_option_tables[t];
        fprintf(out, ".SS \"gpuctl %s\"\n", c->name);
        for (size_t i = 0; i < c->count; i++)
            man_spec(out, &c->specs[i]);
    }
    fputs(".SS \"gpuctl \\-\\-remote HOSTS COMMAND (remote options, before the command)\"\n",
          out);
    for (size_t i = 0; i < remote_options.count; i++)
        man_spec(out, &remote_options.specs[i]);
    fputs(MAN_END "\n", out);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    char buf[8192];
    size_t n;
    while (mem && (n = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, n, mem);
    int bad = ferror(f);
    fclose(f);
    if (!mem || fclose(mem) != 0 || bad) {
        free(text);
        return NULL;
    }
    return text;
}

static int write_man(const char *template_path, FILE *out)
{
    char *text = read_file(template_path);
    if (!text) {
        fprintf(stderr, "gpuctl-optgen: cannot read %s\n", template_path);
        return 1;
    }
    char *begin = strstr(text, MAN_BEGIN);
    char *end = begin ? strstr(begin, MAN_END) : NULL;
    if (!begin || !end || (begin != text && begin[-1] != '\n')) {
        fprintf(stderr, "gpuctl-optgen: %s: no '%s' ... '%s' block\n", template_path,
                MAN_BEGIN, MAN_END);
        free(text);
        return 1;
    }
    end = strchr(end, '\n');
    end = end ? end + 1 : begin + strlen(begin);
    fwrite(text, 1, (size_t)(begin - text), out);
    man_block(out);
    fputs(end, out);
    free(text);
    return 0;
}

/* ---- completions ------------------------------------------------------------------ */

static bool takes_file(const struct options_spec *s)
{
    return s->metavar && (strcmp(s->metavar, "PATH") == 0 || strcmp(s->metavar, "FILE") == 0);
}

static void bash_words(FILE *out, const struct options_command *c)
{
    for (size_t i = 0; i < c->count; i++) {
        char sp[MAX_SPELLINGS][96];
        size_t n = spellings(&c->specs[i], sp, MAX_SPELLINGS);
        for (size_t k = 0; k < n; k++)
            fprintf(out, " %s", sp[k]);
    }
}

/* case arms completing the value after an option: its choices or files */
static void bash_values(FILE *out, const struct options_command *c)
{
    for (size_t i = 0; i < c->count; i++) {
        const struct options_spec *s = &c->specs[i];
        if (s->type == OPTIONS_FLAG || (!s->choices && !takes_file(s)))
            continue;
        char sp[MAX_SPELLINGS][96];
        size_t n = spellings(s, sp, MAX_SPELLINGS);
        fputs("        ", out);
        for (size_t k = 0; k < n; k++)
            fprintf(out, "%s%s:%s", k ? "|" : "", c->name, sp[k]);
        if (s->choices) {
            char list[256];
            snprintf(list, sizeof list, "%s", s->choices);
            for (char *ch = list; *ch; ch++)
                if (*ch == '|')
                    *ch = ' ';
            fprintf(out, ")\n            COMPREPLY=($(compgen -W \"%s\" -- \"$cur\")); return ;;\n",
                    list);
        } else {
            fputs(")\n            COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n", out);
        }
    }
}

static void write_bash(FILE *out)
{
    fputs("# bash completion for gpuctl, generated from its option tables by gpuctl-optgen.\n"
          "_gpuctl()\n{\n"
          "    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
          "    local cmd='' i w\n"
          "    for ((i = 1; i < COMP_CWORD; i++)); do\n"
          "        w=${COMP_WORDS[i]}\n"
          "        case $w in\n"
          "            --config|--log-level", out);
    for (size_t i = 0; i < remote_options.count; i++)
        if (remote_options.specs[i].type != OPTIONS_FLAG)
            fprintf(out, "|--%s", remote_options.specs[i].name);
    fputs(") ((i++)) ;;\n"
          "            --list|--kill|--reset|--audit|--guard) cmd=${w#--}; break ;;\n"
          "            -*) ;;\n"
          "            *) cmd=$w; break ;;\n"
          "        esac\n"
          "    done\n"
          "    case $prev in\n"
          "        --log-level) COMPREPLY=($(compgen -W \"error warn info debug trace\" -- "
          "\"$cur\")); return ;;\n"
          "        ", out);
    const char *bar = "";
    for (size_t i = 0; i < remote_options.count; i++) {
        if (takes_file(&remote_options.specs[i])) {
            fprintf(out, "%s--%s", bar, remote_options.specs[i].name);
            bar = "|";
        }
    }
    fputs(") COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n"
          "        --config) [[ $cmd != guard ]] && { COMPREPLY=($(compgen -f -- \"$cur\")); "
          "return; } ;;\n"
          "    esac\n"
          "    if [[ -z $cmd ]]; then\n"
          "        COMPREPLY=($(compgen -W \"list top select kill reset run compare watch plot "
          "audit guard trace analyze config help --list --kill --reset --audit --guard "
          "--config --log-level --help --version", out);
    bash_words(out, &remote_options);
    fputs("\" -- \"$cur\"))\n"
          "        return\n"
          "    fi\n"
          "    case $cmd:$prev in\n", out);
    for (size_t t = 0; cli_option_tables[t]; t++)
        bash_values(out, cli_option_tables[t]);
    fputs("    esac\n"
          "    local words='--config --log-level --help -h --version -V'\n"
          "    case $cmd in\n", out);
    for (size_t t = 0; cli_option_tables[t]; t++) {
        const struct options_command *c = cli_option_tables[t];
        fprintf(out, "        %s) words+=' ", c->name);
        bash_words(out, c);
        if (c->operands)
            fprintf(out, " %s", c->operands);
        fputs("' ;;\n", out);
    }
    fputs("    esac\n"
          "    COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
          "}\n"
          "complete -o default -F _gpuctl gpuctl\n", out);
}

/* zsh _arguments text: quotes closed and reopened, brackets and colons
 * escaped. */
static void zsh_text(FILE *out, const char *text)
{
    for (const char *c = text; *c; c++) {
        if (*c == '\'')
            fputs("'\\''", out);
        else if (*c == '[' || *c == ']' || *c == ':' || *c == '\\')
            fprintf(out, "\\%c", *c);
        else if (*c == '\n')
            fputc(' ', out);
        else
            fputc(*c, out);
    }
}

static void zsh_spec(FILE *out, const struct options_spec *s)
{
    char sp[MAX_SPELLINGS][96];
    size_t n = spellings(s, sp, MAX_SPELLINGS);
    bool repeat = s->type == OPTIONS_LIST;
    for (size_t k = 0; k < n; k++) {
        fprintf(out, "    '%s%s%s[", repeat ? "*" : "", sp[k], s->type == OPTIONS_FLAG ? "" : "=");
        zsh_text(out, s->help ? s->help : "");
        fputs("]", out);
        if (s->type != OPTIONS_FLAG) {
            fputs(s->flags & OPTIONS_OPTIONAL_VALUE ? "::" : ":", out);
            zsh_text(out, s->metavar ? s->metavar : "value");
            if (s->choices) {
                char list[256];
                snprintf(list, sizeof list, "%s", s->choices);
                for (char *ch = list; *ch; ch++)
                    if (*ch == '|')
                        *ch = ' ';
                fprintf(out, ":(%s)", list);
            } else if (takes_file(s)) {
                fputs(":_files", out);
            } else {
                fputs(": ", out);
            }
        }
        fputs("' \\\n", out);
    }
}

static void write_zsh(FILE *out)
{
    fputs("#compdef gpuctl\n"
          "# zsh completion for gpuctl, generated from its option tables by gpuctl-optgen.\n\n",
          out);
    for (size_t t = 0; cli_option_tables[t]; t++) {
        const struct options_command *c = cli_option_tables[t];
        fprintf(out, "_gpuctl_%s() {\n  _arguments -s \\\n", c->name);
        for (size_t i = 0; i < c->count; i++)
            zsh_spec(out, &c->specs[i]);
        for (size_t i = 0; i < options_common.count; i++)
            zsh_spec(out, &options_common.specs[i]);
        for (size_t i = 0; i < remote_options.count; i++)
            zsh_spec(out, &remote_options.specs[i]);
        if (c->operands)
            fprintf(out, "    '1::subcommand:(%s)' \\\n", c->operands);
        fputs("    '*: :_files'\n}\n\n", out);
    }
    fputs("_gpuctl() {\n"
          "  local -a commands\n"
          "  commands=(list top select kill reset run compare watch plot audit guard trace\n"
          "            analyze config help --list --kill --reset --audit --guard)\n"
          "  if (( CURRENT == 2 )); then\n"
          "    _describe -t commands 'gpuctl command' commands\n"
          "    return\n"
          "  fi\n"
          "  local cmd=${words[2]#--}\n"
          "  shift words\n"
          "  (( CURRENT-- ))\n"
          "  if (( $+functions[_gpuctl_$cmd] )); then\n"
          "    _gpuctl_$cmd\n"
          "  else\n"
          "    _files\n"
          "  fi\n"
          "}\n\n"
          "_gpuctl \"$@\"\n", out);
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "";
    int rc = 0;
    if (strcmp(what, "man") == 0 && argc == 3)
        rc = write_man(argv[2], stdout);
    else if (strcmp(what, "bash") == 0)
        write_bash(stdout);
    else if (strcmp(what, "zsh") == 0)
        write_zsh(stdout);
    else if (strcmp(what, "spellings") == 0)
        write_spellings(stdout);
    else {
        fputs("usage: gpuctl-optgen man TEMPLATE | bash | zsh | spellings\n", stderr);
        return 2;
    }
    if (rc == 0 && (fflush(stdout) != 0 || ferror(stdout))) {
        perror("gpuctl-optgen: stdout");
        return 1;
    }
    return rc;
}
